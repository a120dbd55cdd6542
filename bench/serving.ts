import path from "node:path";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { LogMessage } from "../core/contracts/log-message.ts";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../core/testing/stack.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { appendInteractionEvents } from "../core/event-store/event-store.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../projectors/recommendations/projection.ts";
import { buildInteractionMatrix } from "../serving/recommender/interactions.ts";
import { trainModel } from "../serving/recommender/models/index.ts";
import { RECKON_MODEL, RECKON_TRAIN_OPTIONS } from "../serving/eval/run-eval.ts";
import { publishArtifact } from "../serving/models/artifact-store.ts";
import { trainAndRegister } from "../serving/models/train.ts";
import { machine, percentile, printResultAndExit, runK6, startServer } from "./support.ts";

/**
 * `npm run bench -- serving`: latency of GET /v1/recommendations (ONNX ranking on, trained model active) at fixed
 * rates from k6 in another process, against a static JSON route of the same server and a bare Redis round trip;
 * the highest stepped rate with p99 < 10 ms.
 */
const USERS = 2000;
const ITEMS = 5000;
const CATEGORIES = 20;
const PER_USER = 20;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Seeds the benchmark's data set under `prefix`: catalog and interactions through the projections' own code, the
 * same events in the Postgres log, the production EASE artifact (with per-user lists) and a logistic ranker
 * trained from the log, active.
 * Shared with the in-process microbenchmark (serving-inprocess.ts).
 */
export async function seedServingBench(db: TestDatabase, redis: Redis, prefix: string) {
  const rand = lcg(1);
  // Seed: catalog and interactions through the projections' own code; the same events in the Postgres log.
  const projections = [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ];
  let position = 0;
  const msg = (m: Omit<LogMessage, "position" | "transaction_id" | "received_at">): LogMessage => {
    position++;
    return {
      ...m,
      position,
      transaction_id: String(position),
      received_at: new Date().toISOString(),
    } as LogMessage;
  };
  const now = new Date().toISOString();
  const catalog = Array.from({ length: ITEMS }, (_, i) =>
    msg({
      kind: "catalog",
      event: {
        event_id: randomUUID(),
        type: "item_changed",
        item_id: `i${i}`,
        timestamp: now,
        item: {
          item_id: `i${i}`,
          version: 1,
          categories: [`c${i % CATEGORIES}`],
          attributes: {},
          available: i % 50 !== 0,
          updated_at: now,
        },
      },
    }),
  );
  const events = [];
  const start = Date.now() - 7 * 24 * 3_600_000;
  for (let u = 0; u < USERS; u++) {
    const home = Math.floor(rand() * CATEGORIES);
    for (let k = 0; k < PER_USER; k++) {
      // Skewed popularity within a preferred category, some exploration.
      const cat = rand() < 0.7 ? home : Math.floor(rand() * CATEGORIES);
      const rankInCat = Math.floor(Math.pow(rand(), 2) * (ITEMS / CATEGORIES));
      events.push({
        event_id: randomUUID(),
        type: rand() < 0.8 ? "view" : "click",
        user_id: `u${u}`,
        item_id: `i${rankInCat * CATEGORIES + cat}`,
        timestamp: new Date(start + (u * PER_USER + k) * 15_000).toISOString(),
      });
    }
  }
  const interactionMsgs = events.map((event) => msg({ kind: "interaction", event } as never));
  const all = [...catalog, ...interactionMsgs];
  for (let i = 0; i < all.length; i += 2000)
    for (const p of projections) await p.applyMessages(all.slice(i, i + 2000), "bench");
  for (let i = 0; i < events.length; i += 5000)
    await appendInteractionEvents(db.db, events.slice(i, i + 5000));

  // The production model and settings (EASE with per-user lists), as `reckon train` publishes it.
  const interactions = events.map((e) => ({
    userId: e.user_id,
    itemId: e.item_id,
    timestamp: Date.parse(e.timestamp),
  }));
  const artifact = trainModel(RECKON_MODEL, buildInteractionMatrix(interactions), RECKON_TRAIN_OPTIONS);
  const trainedThrough = interactions.reduce((max, i) => Math.max(max, i.timestamp), 0);
  const artifactVersion = await publishArtifact(redis, prefix, artifact, { trainedThrough });
  const trained = await trainAndRegister({
    db: db.db,
    prefix,
    activate: true,
    maxExamples: 5000,
    artifactVersion,
  });

  return { events, artifactVersion, trained };
}

export async function runServingBench(options: { rates?: number[]; duration?: string } = {}) {
  // SERVING_BENCH_RATES=250,500 runs a subset (comparisons).
  const rates =
    options.rates ??
    (process.env.SERVING_BENCH_RATES?.split(",").map(Number) || [250, 500, 1000, 1500, 2000]);
  const duration = options.duration ?? "10s";
  // Serving processes behind the port (`reckon start --workers`); SERVING_BENCH_WORKERS overrides.
  const workers = Number(process.env.SERVING_BENCH_WORKERS ?? 2);
  const env = stackEnv();
  const db = await createTestDatabase();
  const redis = new Redis(env.REDIS_URL);
  const prefix = uniqueName("rkbench");
  const readKey = `bench-read-${randomUUID()}`;
  try {
    const { events, trained } = await seedServingBench(db, redis, prefix);

    const server = await startServer("serving", {
      DATABASE_URL: db.url,
      REDIS_URL: env.REDIS_URL,
      KAFKA_BROKERS: env.KAFKA_BROKERS.join(","),
      RECKON_REDIS_PREFIX: prefix,
      RECKON_READ_KEYS: readKey,
      RECKON_WORKERS: String(workers),
    });
    const script = path.join(REPO_ROOT, "loadtests/serving.js");
    const k6 = (target: string, rate: number) => {
      const m = runK6(script, {
        BASE_URL: server.url,
        READ_KEY: readKey,
        TARGET: target,
        RATE: String(rate),
        DURATION: duration,
        USERS: String(USERS),
      }).metrics;
      const d = m.http_req_duration!.values;
      const failed = m.http_req_failed?.values.rate ?? m.http_req_failed?.values.value ?? 0;
      const reqs = m.http_reqs?.values.count ?? 0;
      return {
        rate,
        requests: reqs,
        // Requests k6 could not start on time because every VU was still waiting for an answer: they never
        // reach the latency figures, so a step that dropped any does not count as holding the rate.
        dropped: m.dropped_iterations?.values.count ?? 0,
        failed_share: failed,
        p50_ms: d.med,
        p99_ms: d["p(99)"],
        p999_ms: d["p(99.9)"],
        max_ms: d.max,
      };
    };
    try {
      k6("recs", 200); // warm-up: JIT, caches, ONNX session
      const steps: { recommendations: ReturnType<typeof k6>; ping: ReturnType<typeof k6> }[] = [];
      for (const rate of rates) steps.push({ recommendations: k6("recs", rate), ping: k6("ping", rate) });

      // Bare Redis round trips from this process, sequential.
      const samples: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const t = process.hrtime.bigint();
        await redis.ping();
        samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      samples.sort((a, b) => a - b);
      const ok = (s: { p99_ms?: number; failed_share: number; dropped: number }) =>
        (s.p99_ms ?? Infinity) < 10 && s.failed_share === 0 && s.dropped === 0;
      const best = (key: "recommendations" | "ping") =>
        steps.filter((s) => ok(s[key])).reduce((m, s) => Math.max(m, s[key].rate), 0);
      return {
        bench: "serving",
        machine: machine(),
        data: {
          users: USERS,
          items: ITEMS,
          categories: CATEGORIES,
          interactions: events.length,
          serving_workers: workers,
          artifact: `${RECKON_MODEL} ${JSON.stringify(RECKON_TRAIN_OPTIONS)}`,
        },
        model: { version: trained.version, held_out: trained.metrics.new },
        duration_per_step: duration,
        steps,
        redis_round_trip_ms: {
          p50: percentile(samples, 50),
          p99: percentile(samples, 99),
          p999: percentile(samples, 99.9),
        },
        max_rate_p99_under_10ms: { recommendations: best("recommendations"), ping: best("ping") },
        goal: "p99 < 10 ms at 1000 req/s",
      };
    } finally {
      await server.stop();
    }
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResultAndExit(runServingBench());
}
