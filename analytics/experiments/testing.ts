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
import { clickHouseOverlap, clickHouseStatistics } from "./clickhouse-statistics.ts";
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
  /** cuped-test's per-user spend and views before and after exposure, per variant, in user order. */
  cuped: Record<string, CupedUsers>;
  /** overlap-a and overlap-b's shared users: each one's variant in both and purchase (0 = none). */
  overlap: { variantA: string; variantB: string; purchase: number }[];
  setClock(ms: number): void;
  close(): Promise<void>;
}

export interface CupedUsers {
  pre: number[];
  post: number[];
  preViews: number[];
  postViews: number[];
}

/** cuped-test's analysis settings, so the end-to-end spec sees each one applied. */
export const cupedAnalysis = {
  analysis: { alpha: 0.1, test: "one_sided", prior: { enabled: true, mean: 0.01, variance: 0.0025 } },
} as const;

const definition = (key: string, name: string) => ({
  key,
  name,
  ...(key === "cuped-test" ? cupedAnalysis : {}),
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  breakdown_dimensions: ["country"],
  metrics: [
    { key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 },
    {
      key: "revenue",
      type: "mean",
      event_type: "purchase",
      guardrail: true,
      ...(key === "cuped-test" ? { non_inferiority_margin: 0.05 } : {}),
    },
    ...(key === "cuped-test"
      ? [
          {
            key: "spend-per-view",
            type: "ratio",
            numerator: { event_type: "purchase", value: "sum" },
            denominator: { event_type: "view", value: "count" },
          },
          { key: "spend-p90", type: "quantile", event_type: "purchase", quantile: 0.9 },
        ]
      : []),
  ],
});

/**
 * Two running experiments: `balanced-test`, whose users come through the assignment endpoint (400
 * users, recorded exposures), and `skewed-test`, whose client sent its own exposure events 600/400
 * against 50/50 weights (a broken rollout the SRM check must catch), split by country; and
 * `cuped-test`, 200 client-logged users who each spent before exposure (CUPED's covariate) and
 * after it, the treatment about 12 % more.
 */
export async function seedExperimentStack(extraRouters: ExtraRouters = () => []) {
  const bare = await openExperimentStack(extraRouters);
  const { api, db, clickhouse, setClock } = bare;

  for (const [key, name] of [
    ["balanced-test", "Balanced checkout test"],
    ["skewed-test", "Skewed rollout"],
    ["cuped-test", "Spend with a pre-period"],
    ["overlap-a", "Overlap A"],
    ["overlap-b", "Overlap B"],
  ] as const) {
    await createAndStart(api, definition(key, name), key);
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
  // cuped-test: spend 2 days before exposure and an hour after, strongly correlated per user.
  const cuped: Record<string, CupedUsers> = {
    control: { pre: [], post: [], preViews: [], postViews: [] },
    treatment: { pre: [], post: [], preViews: [], postViews: [] },
  };
  const cupedEvents: unknown[] = [];
  for (let i = 0; i < 200; i++) {
    const variant = i % 2 === 0 ? "control" : "treatment";
    const user = `c-user-${i}`;
    const pre = 5 + ((i * 7) % 11);
    const post = pre + ((i * 3) % 5) + (variant === "treatment" ? 1.5 : 0);
    // Views per user, before and after exposure: the ratio metric spend-per-view's denominator.
    const preViews = 1 + (i % 3);
    const postViews = 1 + ((i * 5) % 4);
    cuped[variant]!.pre.push(pre);
    cuped[variant]!.post.push(post);
    cuped[variant]!.preViews.push(preViews);
    cuped[variant]!.postViews.push(postViews);
    for (let j = 0; j < preViews; j++) {
      cupedEvents.push(view(user, 420_000 + i * 10 + j, T0 - 30 * HOUR + j * 60_000));
    }
    for (let j = 0; j < postViews; j++) {
      cupedEvents.push(view(user, 430_000 + i * 10 + j, T0 + 30 * 60_000 + j * 60_000));
    }
    cupedEvents.push(
      {
        event_id: uuid(300_000 + i),
        type: "exposure",
        user_id: user,
        timestamp: new Date(T0).toISOString(),
        experiment: { key: "cuped-test", variant },
      },
      { ...purchase(user, 400_000 + i, pre), timestamp: new Date(T0 - 48 * HOUR).toISOString() },
      purchase(user, 410_000 + i, post),
    );
  }

  // overlap-a and overlap-b: the same 400 users in both, 100 per pair of variants; purchases 10 %
  // without either treatment, 20 % with A's alone, 10 % with B's alone, 50 % with both (an interaction).
  const overlap: SeededStack["overlap"] = [];
  const overlapEvents: unknown[] = [];
  const rate: Record<string, number> = {
    "control/control": 1,
    "treatment/control": 2,
    "control/treatment": 1,
  };
  for (let i = 0; i < 400; i++) {
    const variantA = i % 2 === 1 ? "treatment" : "control";
    const variantB = Math.floor(i / 2) % 2 === 1 ? "treatment" : "control";
    const user = `o-user-${i}`;
    const buys = Math.floor(i / 4) % 10 < (rate[`${variantA}/${variantB}`] ?? 5);
    const value = buys ? 10 + (i % 7) : 0;
    overlap.push({ variantA, variantB, purchase: value });
    for (const [experiment, variant, n] of [
      ["overlap-a", variantA, 600_000],
      ["overlap-b", variantB, 601_000],
    ] as const) {
      overlapEvents.push({
        event_id: uuid(n + i),
        type: "exposure",
        user_id: user,
        timestamp: new Date(T0).toISOString(),
        experiment: { key: experiment, variant },
      });
    }
    if (buys) overlapEvents.push(purchase(user, 440_000 + i, value));
  }

  setClock(T0 + 2 * HOUR);
  await postEvents(api, [...skewed, ...purchases, ...cupedEvents, ...overlapEvents]);

  await pumpLogIntoClickHouse(db, clickhouse);
  setClock(T0 + 48 * HOUR);

  return {
    api,
    db,
    clickhouse,
    balanced: { users, converted },
    cuped,
    overlap,
    setClock,
    close: bare.close,
  } satisfies SeededStack;
}

export type ExtraRouters = (options: {
  keys: ApiKeys;
  db: TestDatabase;
  clickhouse: ClickHouseStore;
  now: () => Date;
}) => Router[];

/**
 * The stack with nothing in it: a test database, ClickHouse in a temporary directory, and the
 * experiments and events APIs (plus `extraRouters`) on a clock the caller moves.
 */
export async function openExperimentStack(extraRouters: ExtraRouters = () => []) {
  const db = await createTestDatabase();
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-exp-e2e-"));
  const clickhouse = await openClickHouse(`chdb://${dataDir}`);
  let clock = T0;
  const now = () => new Date(clock);
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  const api = await serveForTest([
    experimentsRouter({
      db: db.db,
      keys,
      now,
      statistics: clickHouseStatistics(async () => clickhouse),
      overlap: clickHouseOverlap(async () => clickhouse),
    }),
    eventsRouter({ db: db.db, keys, now, maxEventAgeMs: 30 * 24 * HOUR, maxClockSkewMs: 10 * 60_000 }),
    ...extraRouters({ keys, db, clickhouse, now }),
  ]);
  return {
    api,
    db,
    clickhouse,
    setClock(ms: number) {
      clock = ms;
    },
    async close() {
      await api.close();
      await clickhouse.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Posts events through the events API in batches of 1,000, asserting none is rejected. */
export async function postEvents(api: SeededStack["api"], events: readonly unknown[]): Promise<void> {
  for (const batch of chunks(events, 1000)) {
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
}

/** Defines and starts an experiment over the API. */
export async function createAndStart(
  api: SeededStack["api"],
  definition: unknown,
  key: string,
): Promise<void> {
  const created = await api.call("POST", "/v1/experiments", { body: definition });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const started = await api.call("POST", `/v1/experiments/${key}/start`, { headers: { "if-match": '"1"' } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
}

/** What the relay and the projector runtime do, minus Kafka: the log in order through the projection. */
export async function pumpLogIntoClickHouse(db: TestDatabase, clickhouse: ClickHouseStore): Promise<void> {
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

export function purchase(user: string, n: number, value: number) {
  return {
    event_id: uuid(n + 500_000),
    type: "purchase",
    user_id: user,
    item_id: "item-1",
    value,
    timestamp: new Date(T0 + HOUR).toISOString(),
  };
}

function view(user: string, n: number, at: number) {
  return {
    event_id: uuid(n + 500_000),
    type: "view",
    user_id: user,
    item_id: "item-1",
    timestamp: new Date(at).toISOString(),
  };
}

export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
