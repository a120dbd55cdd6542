// The per-user experiment totals the analytics projection maintains (chdb in-process): results read from
// them must equal results computed from every event, through redelivery, out-of-order exposures, a
// definition change and a missing row.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { ExperimentDefinition } from "../../ingest/experiments/index.ts";
import { FIXTURE_EXPERIMENT, T0, fixtureLogMessages } from "../../analytics/queries/testing.ts";
import { loadVariantStatisticsWithSource } from "../../analytics/queries/experiment-stats.ts";
import { createAnalyticsProjection } from "./projection.ts";
import {
  postgresRunningExperiments,
  type RunningExperiment,
  type RunningExperimentsSource,
} from "./experiment-totals.ts";
import { createTestDatabase } from "../../core/testing/stack.ts";
import type { Projection } from "../runtime/projection.ts";

const HOUR = 3_600_000;
/** Read as of now: after every fixture event, including u4's purchase at 300 h. */
const OPEN = { now: new Date(T0 + 400 * HOUR), open: true } as const;

/** The write model's list of running experiments, as the test sets it (Postgres in production). */
class RunningList implements RunningExperimentsSource {
  experiments: RunningExperiment[] = [];
  async running(): Promise<readonly RunningExperiment[]> {
    return this.experiments;
  }
}

async function applyAll(projection: Projection, batches: LogMessage[][]): Promise<void> {
  for (const batch of batches) {
    await projection.apply({
      topic: "reckon.events.v1",
      partition: 0,
      messages: batch.map((message, i) => ({ offset: String(i), message })),
    });
  }
}

function purchase(user: string, hours: number, value: number, position: number): LogMessage {
  return {
    kind: "interaction",
    position,
    transaction_id: String(5000 + position),
    received_at: new Date(T0 + 400 * HOUR).toISOString(),
    event: {
      event_id: `00000000-0000-4000-9000-${position.toString(16).padStart(12, "0")}`,
      type: "purchase",
      user_id: user,
      item_id: "item-1",
      value,
      timestamp: new Date(T0 + hours * HOUR).toISOString(),
    },
  };
}

describe("experiment user totals", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-exp-totals-"));
  let ch: ClickHouseStore;
  const list = new RunningList();
  let projection: Projection;

  const bothWays = async (definition: ExperimentDefinition, options: Record<string, unknown> = {}) => {
    const fromTotals = await loadVariantStatisticsWithSource(ch, definition, { ...OPEN, ...options });
    const fromEvents = await loadVariantStatisticsWithSource(ch, definition, {
      ...OPEN,
      ...options,
      source: "events",
    });
    assert.equal(fromEvents.source, "events");
    return { fromTotals, fromEvents };
  };

  before(async () => {
    ch = await openClickHouse(`chdb://${dataDir}`);
    list.experiments = [{ key: FIXTURE_EXPERIMENT.key, version: 2, definition: FIXTURE_EXPERIMENT }];
    projection = createAnalyticsProjection({ clickhouse: ch, experiments: list });
  });
  after(async () => {
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers an open analysis from the totals, equal to the events, through redelivery", async () => {
    // Delivered twice: the second batch moves u6's first exposure earlier and exposes u1 again.
    await applyAll(projection, fixtureLogMessages());
    await applyAll(projection, fixtureLogMessages());
    const { fromTotals, fromEvents } = await bothWays(FIXTURE_EXPERIMENT);
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
    const users = await ch.query<{ n: string }>(
      "SELECT count() AS n FROM reckon.experiment_user_totals FINAL WHERE experiment_key = 'checkout-test'",
    );
    assert.equal(Number(users[0]!.n), 6);
    // Worked by hand: revenue_p50 (24 h window) in treatment: u4 60+70, u5 0, u6 40 (7 h, after its 6 h exposure).
    const revenue = fromTotals.statistics.find(
      (s) => s.metric === "revenue_p50" && s.variant === "treatment",
    )!;
    assert.equal(revenue.n, 3);
  });

  it("counts users by their earliest exposure when a window starts between two of a user's exposures", async () => {
    // u6 was exposed at 8 h and (delivered later) at 6 h: first exposed at 6 h, so outside [7 h, …).
    const { fromTotals, fromEvents } = await bothWays(FIXTURE_EXPERIMENT, { from: new Date(T0 + 7 * HOUR) });
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
    const users = (variant: string) =>
      fromTotals.statistics.find((s) => s.metric === "converted" && s.variant === variant)!.n;
    assert.deepEqual([users("control"), users("treatment")], [1, 0]); // u3 (10 h) only
  });

  it("answers a breakdown from the totals, equal to the events", async () => {
    const { fromTotals, fromEvents } = await bothWays(FIXTURE_EXPERIMENT, { breakdown: "device" });
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
    assert.ok(fromTotals.statistics.some((s) => s.breakdownValue === "tablet"));
  });

  it("recomputes a user on a later event, and only counts it from the totals once it is projected", async () => {
    const before = await bothWays(FIXTURE_EXPERIMENT);
    await applyAll(projection, [[purchase("u2", 12, 25, 900)]]);
    const { fromTotals, fromEvents } = await bothWays(FIXTURE_EXPERIMENT);
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
    const converted = (stats: typeof before.fromTotals.statistics) =>
      stats.find((s) => s.metric === "converted" && s.variant === "control")!.sum;
    // u2 (exposed at 2 h) buys at 12 h: inside the 24 h window, one more converted user.
    assert.equal(converted(fromTotals.statistics), converted(before.fromTotals.statistics) + 1);
  });

  it("does not recompute a user for an event no metric reads", async () => {
    const ver = async () =>
      (
        await ch.query<{ ver: string }>(
          "SELECT ver FROM reckon.experiment_user_totals FINAL WHERE experiment_key = 'checkout-test' AND user_id = 'u2'",
        )
      )[0]!.ver;
    const before = await ver();
    const share: LogMessage = { ...purchase("u2", 13, 0, 903) };
    if (share.kind === "interaction") share.event = { ...share.event, type: "share" };
    await applyAll(projection, [[share]]);
    assert.equal(await ver(), before);
    await applyAll(projection, [[purchase("u2", 14, 5, 904)]]);
    assert.notEqual(await ver(), before); // a purchase is read by the metrics: recomputed
    const { fromTotals, fromEvents } = await bothWays(FIXTURE_EXPERIMENT);
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
  });

  it("after a definition change, reads the events until the rebuild, then the new totals", async () => {
    const changed: ExperimentDefinition = {
      ...FIXTURE_EXPERIMENT,
      metrics: FIXTURE_EXPERIMENT.metrics.map((m) => (m.key === "converted" ? { ...m, window_hours: 1 } : m)),
    };
    list.experiments = [{ key: changed.key, version: 3, definition: changed }];
    const stale = await loadVariantStatisticsWithSource(ch, changed, OPEN);
    assert.equal(stale.source, "events");
    // The next batch (any event) makes the projection rebuild the experiment for the new definition.
    await applyAll(projection, [[purchase("u9", 1, 1, 901)]]);
    const { fromTotals, fromEvents } = await bothWays(changed);
    assert.equal(fromTotals.source, "user_totals");
    assert.deepEqual(fromTotals.statistics, fromEvents.statistics);
    // 1 h window: only u4's purchase at its exposure hour (1 h) converts in treatment.
    assert.equal(
      fromTotals.statistics.find((s) => s.metric === "converted" && s.variant === "treatment")!.sum,
      1,
    );
  });

  it("falls back to the events when an exposed user has no current row", async () => {
    const definition = list.experiments[0]!.definition;
    await ch.command(
      "ALTER TABLE reckon.experiment_user_totals DELETE WHERE user_id = 'u5' SETTINGS mutations_sync = 1",
    );
    const missing = await loadVariantStatisticsWithSource(ch, definition, OPEN);
    assert.equal(missing.source, "events");
    assert.equal(missing.statistics.find((s) => s.metric === "converted" && s.variant === "treatment")!.n, 3);
    // u5's next event brings the row back.
    await applyAll(projection, [[purchase("u5", 50, 3, 902)]]);
    assert.equal((await loadVariantStatisticsWithSource(ch, definition, OPEN)).source, "user_totals");
  });

  it("reports the projection unhealthy while Postgres (the running experiments) does not answer", async () => {
    // An outage of the source must make the runtime retry, never bisect batches into the dead-letter topic.
    const t = await createTestDatabase();
    const source = postgresRunningExperiments(t.db);
    const withPostgres = createAnalyticsProjection({ clickhouse: ch, experiments: source });
    assert.equal(await withPostgres.healthy!(), true);
    assert.deepEqual(await source.running(), []);
    await t.drop(); // closes the pool: every query now fails
    assert.equal(await withPostgres.healthy!(), false);
    await assert.rejects(source.running({ refresh: true }));
  });

  it("keeps a closed window on the events", async () => {
    const closed = await loadVariantStatisticsWithSource(ch, list.experiments[0]!.definition, {
      now: new Date(T0 + 100 * HOUR),
    });
    assert.equal(closed.source, "events");
  });
});
