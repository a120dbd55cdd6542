// Test support for the end-to-end specs (results and dashboard): the real write path on Postgres
// (experiments API, assignment, events API), the Postgres log pumped through the analytics projection
// into ClickHouse (chdb in-process), and the results endpoint reading it back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import assert from "node:assert/strict";
import type { Router } from "express";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { eventsRouter } from "../../ingest/http/events-router.ts";
import { readLogBatch } from "../../core/event-store/log-reader.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import { postgresRunningExperiments } from "../../projectors/analytics/experiment-totals.ts";
import { assignVariant } from "../../serving/assignment/index.ts";
import { clickHouseStatistics } from "./clickhouse-statistics.ts";
import { experimentsRouter } from "./router.ts";

const HOUR = 3_600_000;
/** Exposures happen at T0, conversions an hour later; results are read two days on. */
export const T0 = Date.parse("2026-03-02T09:00:00.000Z");

export interface SeededStack {
  api: Awaited<ReturnType<typeof serveForTest>>;
  db: TestDatabase;
  clickhouse: ClickHouseStore;
  /** Users per variant and converters per variant of the balanced experiment, as assigned. */
  balanced: { users: Record<string, number>; converted: Record<string, number> };
  setClock(ms: number): void;
  close(): Promise<void>;
}

const definition = (key: string, name: string) => ({
  key,
  name,
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  breakdown_dimensions: ["country"],
  metrics: [
    { key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 },
    { key: "revenue", type: "mean", event_type: "purchase", guardrail: true },
  ],
});

/**
 * Two running experiments: `balanced-test`, whose users come through the assignment endpoint (400
 * users, recorded exposures), and `skewed-test`, whose client sent its own exposure events 600/400
 * against 50/50 weights (a broken rollout the SRM check must catch), split by country.
 */
export async function seedExperimentStack(extraRouters: (options: { keys: ApiKeys }) => Router[] = () => []) {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-exp-e2e-"));
  const clickhouse = await openClickHouse(`chdb://${dataDir}`);
  let clock = T0;
  const now = () => new Date(clock);
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  const api = await serveForTest([
    experimentsRouter({ db: db.db, keys, now, statistics: clickHouseStatistics(async () => clickhouse) }),
    eventsRouter({ db: db.db, keys, now, maxEventAgeMs: 30 * 24 * HOUR, maxClockSkewMs: 10 * 60_000 }),
    ...extraRouters({ keys }),
  ]);

  for (const [key, name] of [
    ["balanced-test", "Balanced checkout test"],
    ["skewed-test", "Skewed rollout"],
  ] as const) {
    const created = await api.call("POST", "/v1/experiments", { body: definition(key, name) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const started = await api.call("POST", `/v1/experiments/${key}/start`, {
      headers: { "if-match": '"1"' },
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
  }
  const balancedDefinition = (await api.call("GET", "/v1/experiments/balanced-test", { scope: "read" })).body
    .definition;

  // balanced-test: assignment endpoint (records exposures); treatment converts more often.
  const users: Record<string, number> = { control: 0, treatment: 0 };
  const converted: Record<string, number> = { control: 0, treatment: 0 };
  const purchases: unknown[] = [];
  for (let i = 0; i < 400; i++) {
    const user = `b-user-${i}`;
    const res = await api.call("GET", `/v1/experiments/balanced-test/assignment?user_id=${user}`, {
      scope: "read",
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.variant, assignVariant(balancedDefinition, user)!.variant_key);
    const variant = res.body.variant as string;
    users[variant]! += 1;
    const converts = variant === "treatment" ? i % 3 === 0 : i % 5 === 0;
    if (converts) {
      converted[variant]! += 1;
      purchases.push(purchase(user, i, 10 + (i % 7)));
    }
  }

  // skewed-test: the client logs its own exposures, 600 control / 400 treatment, DE and FR.
  const skewed: unknown[] = [];
  for (let i = 0; i < 1000; i++) {
    const variant = i < 600 ? "control" : "treatment";
    skewed.push({
      event_id: uuid(100_000 + i),
      type: "exposure",
      user_id: `s-user-${i}`,
      timestamp: new Date(T0).toISOString(),
      experiment: { key: "skewed-test", variant },
      context: { country: i % 2 === 0 ? "DE" : "FR" },
    });
    if (i % 4 === 0) skewed.push(purchase(`s-user-${i}`, 200_000 + i, 20));
  }
  clock = T0 + 2 * HOUR;
  for (const batch of chunks([...skewed, ...purchases], 1000)) {
    const res = await api.call("POST", "/v1/events", { scope: "write", body: { events: batch } });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 500));
    assert.equal(
      res.body.rejected,
      0,
      JSON.stringify(res.body.results.filter((r: { status: string }) => r.status === "rejected")).slice(
        0,
        500,
      ),
    );
  }

  await pumpLogIntoClickHouse(db, clickhouse);
  clock = T0 + 48 * HOUR;

  return {
    api,
    db,
    clickhouse,
    balanced: { users, converted },
    setClock(ms: number) {
      clock = ms;
    },
    async close() {
      await api.close();
      await clickhouse.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  } satisfies SeededStack;
}

/** What the relay and the projector runtime do, minus Kafka: the log in order through the projection. */
async function pumpLogIntoClickHouse(db: TestDatabase, clickhouse: ClickHouseStore): Promise<void> {
  // With the write model's running experiments, as `reckon projectors` runs it: the projection keeps
  // their per-user totals, which results of a running experiment read.
  const projection = createAnalyticsProjection({
    clickhouse,
    experiments: postgresRunningExperiments(db.db),
  });
  let after: LogPosition = LOG_START;
  for (;;) {
    const batch = await readLogBatch(db.db, after, 1000);
    if (batch.length === 0) return;
    await projection.apply({
      topic: "reckon.events.v1",
      partition: 0,
      messages: batch.map((message, i) => ({ offset: String(i), message })),
    });
    const last = batch.at(-1)!;
    after = { transactionId: BigInt(last.transaction_id), position: last.position };
  }
}

function purchase(user: string, n: number, value: number) {
  return {
    event_id: uuid(n + 500_000),
    type: "purchase",
    user_id: user,
    item_id: "item-1",
    value,
    timestamp: new Date(T0 + HOUR).toISOString(),
  };
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
