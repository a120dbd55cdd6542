// First-exposure semantics of the statistics query, which reads exposure events directly rather than
// reckon.first_exposures: ties on the exposure time are broken by event_id exactly as the table's
// argMin over (occurred_at, event_id) does, and a variant the definition does not name is reported.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { FIXTURE_EXPERIMENT, NOW, T0 } from "./testing.ts";
import {
  loadVariantStatistics,
  loadVariantUserCounts,
  userCountsFromStatistics,
} from "./experiment-stats.ts";

const HOUR = 3_600_000;
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

function exposure(n: number, user: string, hours: number, variant: string): InteractionEvent {
  return {
    event_id: id(n),
    type: "exposure",
    user_id: user,
    timestamp: new Date(T0 + hours * HOUR).toISOString(),
    experiment: { key: FIXTURE_EXPERIMENT.key, variant },
  };
}

function purchase(n: number, user: string, hours: number, value: number): InteractionEvent {
  return {
    event_id: id(n),
    type: "purchase",
    user_id: user,
    item_id: "item-1",
    timestamp: new Date(T0 + hours * HOUR).toISOString(),
    value,
  };
}

// t1 and t2 each have two exposures at the same instant: the lower event_id wins whatever the order
// they arrive in (the higher one is delivered first). r1 saw a variant the definition does not name.
const EVENTS: InteractionEvent[] = [
  exposure(12, "t1", 1, "treatment"),
  exposure(11, "t1", 1, "control"),
  exposure(22, "t2", 2, "control"),
  exposure(21, "t2", 2, "treatment"),
  exposure(31, "r1", 3, "rogue"),
  purchase(13, "t1", 2, 10),
  purchase(23, "t2", 3, 20),
  purchase(32, "r1", 4, 40),
];

function messages(): LogMessage[] {
  return EVENTS.map((event, i) => ({
    kind: "interaction" as const,
    position: i + 1,
    transaction_id: String(2000 + i),
    received_at: new Date(T0 + 400 * HOUR).toISOString(),
    event,
  }));
}

describe("first exposures in the statistics query", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-first-exposure-"));
  let ch: ClickHouseStore;

  before(async () => {
    ch = await openClickHouse(`chdb://${dataDir}`);
    const projection = createAnalyticsProjection({ clickhouse: ch });
    // Delivered twice (at-least-once), one event per batch so every row is its own part.
    for (let round = 0; round < 2; round++) {
      for (const [i, message] of messages().entries()) {
        await projection.apply({
          topic: "reckon.events.v1",
          partition: 0,
          messages: [{ offset: String(round * 100 + i), message }],
        });
      }
    }
  });
  after(async () => {
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("breaks ties on the exposure time by event_id, as reckon.first_exposures does", async () => {
    const table = await ch.query<{ user_id: string; variant: string }>(
      `SELECT user_id, argMinMerge(variant) AS variant FROM reckon.first_exposures
        WHERE experiment_key = {experiment:String} GROUP BY user_id ORDER BY user_id`,
      { experiment: FIXTURE_EXPERIMENT.key },
    );
    assert.deepEqual(table, [
      { user_id: "r1", variant: "rogue" },
      { user_id: "t1", variant: "control" },
      { user_id: "t2", variant: "treatment" },
    ]);
    const stats = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW });
    // revenue (uncapped below 50): t1's 10 is control's, t2's 20 treatment's
    const revenue = stats.filter((s) => s.metric === "revenue").map((s) => [s.variant, s.n, s.sum]);
    assert.deepEqual(revenue, [
      ["control", 1, 10],
      ["treatment", 1, 20],
      ["rogue", 1, 40],
    ]);
  });

  it("reports a variant the definition does not name, in statistics and user counts alike", async () => {
    const stats = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW });
    const expected = [
      { variant: "control", users: 1 },
      { variant: "treatment", users: 1 },
      { variant: "rogue", users: 1 },
    ];
    assert.deepEqual(await loadVariantUserCounts(ch, FIXTURE_EXPERIMENT, { now: NOW }), expected);
    assert.deepEqual(userCountsFromStatistics(FIXTURE_EXPERIMENT, stats), expected);
    const breakdown = await loadVariantStatistics(ch, FIXTURE_EXPERIMENT, { now: NOW, breakdown: "device" });
    assert.deepEqual(
      breakdown.filter((s) => s.metric === "converted").map((s) => [s.variant, s.breakdownValue, s.n, s.sum]),
      [
        ["control", "", 1, 1],
        ["treatment", "", 1, 1],
        ["rogue", "", 1, 1],
      ],
    );
  });
});
