// The analytics projection on the ClickHouse engine (chdb in-process): idempotent under redelivery and
// reordering, first exposure by event time, positions, catalog rows and dead letters.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { fixtureLogMessages } from "../../analytics/queries/testing.ts";
import type { PartitionBatch, Projection } from "../runtime/projection.ts";
import { createAnalyticsProjection } from "./projection.ts";

const TOPIC = "reckon.events.v1";

function batchOf(messages: LogMessage[], partition = 0): PartitionBatch {
  return {
    topic: TOPIC,
    partition,
    messages: messages.map((message, i) => ({ offset: String(i), message })),
  };
}

async function tableState(ch: ClickHouseStore) {
  return {
    events: await ch.query(
      `SELECT event_id, type, user_id, occurred_at, value, experiment_key, variant, device, position
         FROM reckon.events FINAL ORDER BY event_id`,
    ),
    totals: await ch.query("SELECT count() AS n, sum(value) AS total FROM reckon.events FINAL"),
    exposures: await ch.query(
      `SELECT experiment_key, user_id, min(first_exposed_at) AS at, argMinMerge(variant) AS variant,
              argMinMerge(device) AS device
         FROM reckon.first_exposures GROUP BY experiment_key, user_id ORDER BY experiment_key, user_id`,
    ),
  };
}

describe("analytics projection", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-projection-"));
  let ch: ClickHouseStore;
  let projection: Projection;

  before(async () => {
    ch = await openClickHouse(`chdb://${dir}`);
    projection = createAnalyticsProjection({ clickhouse: ch });
  });
  after(async () => {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // libchdb binds one data directory per process, so independent runs start from emptied tables.
  async function reset() {
    await ch.command("TRUNCATE TABLE IF EXISTS reckon.events");
    await ch.command("TRUNCATE TABLE IF EXISTS reckon.first_exposures");
    await ch.command("TRUNCATE TABLE IF EXISTS reckon.items");
    await ch.command("TRUNCATE TABLE IF EXISTS reckon.projection_positions");
  }

  it("gives the same tables when the same events are projected twice, or in another order and batching", async () => {
    const batches = fixtureLogMessages();
    for (const batch of batches)
      assert.ok((await projection.apply(batchOf(batch))).every((o) => o.kind === "ok"));
    const once = await tableState(ch);
    assert.equal(once.events.length, 31);

    for (const batch of batches) await projection.apply(batchOf(batch));
    assert.deepEqual(await tableState(ch), once);

    // Reverse order, one message per batch, on another partition: the same state.
    await reset();
    for (const message of batches.flat().reverse()) await projection.apply(batchOf([message], 1));
    assert.deepEqual(await tableState(ch), once);
  });

  it("keeps the earliest exposure whatever the delivery order", async () => {
    const exposures = (await tableState(ch)).exposures as {
      user_id: string;
      at: string;
      variant: string;
      device: string;
    }[];
    const u6 = exposures.find((e) => e.user_id === "u6")!;
    assert.deepEqual([u6.at, u6.variant, u6.device], ["2024-03-01 06:00:00.000", "treatment", "tablet"]);
    const u1 = exposures.find((e) => e.user_id === "u1")!;
    assert.deepEqual([u1.at, u1.variant, u1.device], ["2024-03-01 01:00:00.000", "control", "mobile"]);
  });

  it("stores the applied log position per partition, in log order", async () => {
    await reset();
    assert.equal(await projection.appliedPosition(TOPIC, 0), undefined);
    const messages = fixtureLogMessages().flat();
    await projection.apply(batchOf(messages.slice(0, 10)));
    assert.deepEqual(await projection.appliedPosition(TOPIC, 0), { transactionId: 1010n, position: 10 });
    await projection.apply(batchOf(messages.slice(10)));
    assert.deepEqual(await projection.appliedPosition(TOPIC, 0), { transactionId: 1031n, position: 31 });
    // A redelivered older batch never moves it back.
    await projection.apply(batchOf(messages.slice(0, 5)));
    assert.deepEqual(await projection.appliedPosition(TOPIC, 0), { transactionId: 1031n, position: 31 });
    assert.equal(await projection.appliedPosition(TOPIC, 3), undefined);
  });

  it("projects catalog changes by version, drops experiment definitions and dead-letters bad messages", async () => {
    await reset();
    const envelope = (position: number) => ({
      position,
      transaction_id: String(2000 + position),
      received_at: "2024-03-01T00:00:00.000Z",
    });
    const item = (version: number, title: string): LogMessage => ({
      ...envelope(version),
      kind: "catalog",
      event: {
        event_id: `00000000-0000-4000-8000-00000000010${version}`,
        type: "item_changed",
        item_id: "i1",
        timestamp: "2024-03-01T00:00:00.000Z",
        item: {
          item_id: "i1",
          version,
          title,
          categories: ["books"],
          attributes: { price: 9.5 },
          available: true,
          updated_at: "2024-03-01T00:00:00.000Z",
        },
      },
    });
    const bad = {
      ...envelope(5),
      kind: "interaction",
      event: { event_id: "not-a-uuid", type: "view", user_id: "u1", timestamp: "2024-03-01T00:00:00Z" },
    } as LogMessage;
    const good: LogMessage = {
      ...envelope(6),
      kind: "interaction",
      event: {
        event_id: "00000000-0000-4000-8000-000000000999",
        type: "view",
        user_id: "u9",
        item_id: "i1",
        timestamp: "2024-03-01T00:00:00+02:00",
      },
    };
    const definition: LogMessage = {
      ...envelope(7),
      kind: "experiment",
      event: {
        event_id: "x",
        type: "experiment_started",
        timestamp: "2024-03-01T00:00:00Z",
        experiment_key: "e",
      },
    };
    const outcomes = await projection.apply(
      batchOf([item(2, "second"), item(1, "first"), bad, good, definition]),
    );
    assert.deepEqual(outcomes, [
      { kind: "ok" },
      { kind: "ok" },
      { kind: "dead_letter", reason: "event_id must be a UUID" },
      { kind: "ok" },
      { kind: "drop", reason: "analytics does not project experiment definitions" },
    ]);
    assert.deepEqual(
      await ch.query("SELECT item_id, version, title, categories, attributes FROM reckon.items FINAL"),
      [{ item_id: "i1", version: "2", title: "second", categories: ["books"], attributes: '{"price":9.5}' }],
    );
    // The offset in the client's timestamp is normalised to UTC.
    assert.deepEqual(await ch.query("SELECT user_id, occurred_at FROM reckon.events FINAL"), [
      { user_id: "u9", occurred_at: "2024-02-29 22:00:00.000" },
    ]);
    assert.deepEqual(await projection.appliedPosition(TOPIC, 0), { transactionId: 2007n, position: 7 });
  });
});
