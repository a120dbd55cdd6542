// The analytics projection on chdb when a batch comes again after a crash: the batch's write reached ClickHouse
// but its commit never reached the transport, so the next process applies it again. Plain count() must not see
// the rows twice (a ReplacingMergeTree folds copies only at a later merge).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { recommendationServed } from "../../core/contracts/recommendation-served.ts";
import { fixtureLogMessages } from "../../analytics/queries/testing.ts";
import type { PartitionBatch } from "../runtime/projection.ts";
import { createAnalyticsProjection } from "./projection.ts";

const TOPIC = "reckon.events.v1";

const batchOf = (messages: readonly LogMessage[]): PartitionBatch => ({
  topic: TOPIC,
  partition: 0,
  messages: messages.map((message) => ({ offset: `${message.transaction_id}.${message.position}`, message })),
});

/** The fixture's interactions, then two served lists, in log order. */
function logMessages(): { first: LogMessage[]; second: LogMessage[] } {
  const [first, second] = fixtureLogMessages();
  const last = second!.at(-1)!;
  const served = [1, 2].map((n) => ({
    kind: "recommendation" as const,
    position: last.position + n,
    transaction_id: String(BigInt(last.transaction_id) + BigInt(n)),
    received_at: last.received_at,
    event: recommendationServed({
      recommendationId: `00000000-0000-4000-8000-00000000000${n}`,
      userId: `redelivery-user-${n}`,
      at: new Date(last.received_at),
      modelVersion: null,
      items: [
        { item_id: "item-a", source: "popular" },
        { item_id: "item-b", source: "popular" },
      ],
    }),
  }));
  return { first: first!, second: [...second!, ...served] as LogMessage[] };
}

async function counts(ch: ClickHouseStore) {
  const [events] = await ch.query<{ n: string }>(
    "SELECT count() AS n, uniqExact(event_id) AS u FROM reckon.events",
  );
  const [served] = await ch.query<{ n: string }>("SELECT count() AS n FROM reckon.recommendation_items");
  return { events: Number(events!.n), served: Number(served!.n) };
}

describe("analytics projection, a batch delivered again after a crash", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-redelivery-"));
  let ch: ClickHouseStore;
  const { first, second } = logMessages();
  const interactions = [...first, ...second].filter((m) => m.kind === "interaction").length;

  before(async () => {
    ch = await openClickHouse(`chdb://${dir}`);
    await createAnalyticsProjection({ clickhouse: ch }).appliedPosition(TOPIC, 0); // creates the schema
  });
  after(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    for (const table of [
      "events",
      "first_exposures",
      "items",
      "recommendation_items",
      "projection_positions",
    ])
      await ch.command(`TRUNCATE TABLE IF EXISTS reckon.${table}`);
  });

  it("does not write the rows of a batch it already stored (the commit was lost with the process)", async () => {
    const killed = createAnalyticsProjection({ clickhouse: ch });
    await killed.apply(batchOf(first));
    await killed.apply(batchOf(second)); // stored; the process dies before the transport commits it

    const restarted = createAnalyticsProjection({ clickhouse: ch });
    const outcomes = await restarted.apply(batchOf(second));
    assert.ok(outcomes.every((o) => o.kind === "ok"));
    assert.deepEqual(await counts(ch), { events: interactions, served: 4 });
  });

  it("does not write them again when the rows went in but the position row did not", async () => {
    const killed = createAnalyticsProjection({ clickhouse: ch });
    await killed.apply(batchOf(first));
    await killed.apply(batchOf(second));
    // The process died between the rows' INSERT and the position row's.
    await ch.command("TRUNCATE TABLE reckon.projection_positions");

    const restarted = createAnalyticsProjection({ clickhouse: ch });
    await restarted.apply(batchOf([...first, ...second]));
    assert.deepEqual(await counts(ch), { events: interactions, served: 4 });
    const position = await restarted.appliedPosition(TOPIC, 0);
    assert.equal(position?.position, second.at(-1)!.position);
  });

  it("writes what the redelivered batch did not store, and every later batch in full", async () => {
    const killed = createAnalyticsProjection({ clickhouse: ch });
    await killed.apply(batchOf(first));

    // The uncommitted range comes back in smaller batches: the first one already stored, then new ones.
    const restarted = createAnalyticsProjection({ clickhouse: ch });
    await restarted.apply(batchOf(first.slice(0, 3)));
    await restarted.apply(batchOf(first.slice(3)));
    await restarted.apply(batchOf(second));
    assert.deepEqual(await counts(ch), { events: interactions, served: 4 });
  });
});
