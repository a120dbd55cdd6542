import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import type { Queryable } from "../core/postgres/database.ts";
import { LOG_START } from "../core/contracts/position.ts";
import { openClickHouse } from "../core/clickhouse/open.ts";
import { readLogBatch, toLogPosition } from "../core/event-store/log-reader.ts";
import { REDIS_PROJECTION_VARIABLES, REDIS_PROJECTIONS } from "../projectors/role.ts";
import { loadVariables } from "../core/config/env.ts";
import { deleteKeys, replayProjection } from "../projectors/runtime/replay.ts";
import { createAnalyticsProjection } from "../projectors/analytics/projection.ts";
import { machine, printResultAndExit } from "./support.ts";

/**
 * `npm run bench -- rebuild`: events/s of rebuilding each projection from position 0 of the Postgres log
 * (`replayProjection` for the Redis projections into a fresh key prefix; the analytics projection, which
 * replayProjection does not handle, by feeding the same `readLogBatch` batches to its `apply` into a fresh
 * in-process ClickHouse directory), beside the baseline in the same run: reading the same events with
 * `readLogBatch` and doing nothing with them.
 */
export interface RebuildOptions {
  events?: number;
  batchSize?: number;
  users?: number;
  items?: number;
}

export async function runRebuildBench(options: RebuildOptions = {}) {
  const events = options.events ?? 200_000;
  const batchSize = options.batchSize ?? 2000;
  const users = options.users ?? 20_000;
  const items = options.items ?? 5_000;
  const id = uniqueName("rebuild");
  const prefix = `bench:${id}`;
  const chdbDir = mkdtempSync(path.join(os.tmpdir(), "reckon-rebuild-chdb-"));
  const db = await createTestDatabase();
  const redis = new Redis(stackEnv().REDIS_URL);
  try {
    const loadStarted = performance.now();
    await loadEvents(db.url, events, users, items);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    await db.db.query("ANALYZE events");

    // The first pass also warms Postgres's cache, so every measurement after it reads from memory alike.
    const readCold = await readOnly(db.db, batchSize);
    const read = await readOnly(db.db, batchSize);

    const replays = [];
    for (const name of ["features", "recommendations"]) {
      const env = loadVariables(REDIS_PROJECTION_VARIABLES, { ...process.env, RECKON_REDIS_PREFIX: prefix });
      const projection = REDIS_PROJECTIONS[name]!(redis, env);
      const result = await replayProjection({
        db: db.db,
        projection,
        topic: `bench.${id}.events`,
        partitions: 3,
        batchSize,
      });
      if (result.events !== events) throw new Error(`${name} replayed ${result.events} of ${events} events`);
      replays.push({
        projection: name,
        how: "replayProjection",
        events: result.events,
        seconds: round(result.seconds),
        events_per_s: result.eventsPerSecond,
      });
    }

    const clickhouse = await openClickHouse(`chdb://${chdbDir}`);
    try {
      const analytics = createAnalyticsProjection({ clickhouse });
      // Schema creation is setup, not rebuild work: an empty batch runs the migrations.
      await analytics.apply({ topic: "replay", partition: 0, messages: [] });
      const started = performance.now();
      let position = LOG_START;
      let applied = 0;
      for (;;) {
        const batch = await readLogBatch(db.db, position, batchSize);
        if (batch.length === 0) break;
        await analytics.apply({
          topic: "replay",
          partition: 0,
          messages: batch.map((message, i) => ({ offset: String(applied + i), message })),
        });
        applied += batch.length;
        position = toLogPosition(batch[batch.length - 1]!);
      }
      const seconds = (performance.now() - started) / 1000;
      const rows = await clickhouse.query<{ n: string }>("SELECT count() AS n FROM reckon.events FINAL");
      if (Number(rows[0]!.n) !== events) throw new Error(`analytics holds ${rows[0]!.n} of ${events} rows`);
      replays.push({
        projection: "analytics",
        how: "readLogBatch batches applied to the projection (replayProjection handles Redis projections only)",
        events: applied,
        seconds: round(seconds),
        events_per_s: Math.round(applied / seconds),
      });
    } finally {
      await clickhouse.close();
    }

    return {
      bench: "rebuild",
      machine: { ...machine(), load_average_1m_at_end: round(os.loadavg()[0]) },
      data: {
        events,
        users,
        items,
        types: "60% view, 25% click, 10% add_to_cart, 5% purchase; event times over the last 48 h",
        batch_size: batchSize,
        load_seconds: round(loadSeconds),
      },
      baseline_read_only: {
        how: "readLogBatch from position 0, nothing done with the events",
        events_per_s: read.eventsPerSecond,
        seconds: round(read.seconds),
        first_cold_pass_events_per_s: readCold.eventsPerSecond,
      },
      replays: replays.map((r) => ({
        ...r,
        ratio_to_read_only: round(r.events_per_s / read.eventsPerSecond, 3),
      })),
    };
  } finally {
    await deleteKeys(redis, `${prefix}:*`).catch(() => undefined);
    redis.disconnect();
    await db.drop();
    rmSync(chdbDir, { recursive: true, force: true });
  }
}

async function readOnly(db: Queryable, batchSize: number) {
  const started = performance.now();
  let position = LOG_START;
  let events = 0;
  for (;;) {
    const batch = await readLogBatch(db, position, batchSize);
    if (batch.length === 0) break;
    events += batch.length;
    position = toLogPosition(batch[batch.length - 1]!);
  }
  const seconds = (performance.now() - started) / 1000;
  return { events, seconds, eventsPerSecond: Math.round(events / seconds) };
}

const TYPES = [
  ...Array<string>(12).fill("view"),
  ...Array<string>(5).fill("click"),
  "add_to_cart",
  "add_to_cart",
  "purchase",
];

/**
 * COPY into the events table in transactions of 20,000 rows, shaped as ingest stores them (payload = the
 * validated event), so the log has many transactions like a live one.
 */
export async function loadEvents(url: string, total: number, users: number, items: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = Date.now();
    let seed = 42;
    // A fixed LCG keeps the data identical from run to run.
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const chunk = 20_000;
    for (let start = 0; start < total; start += chunk) {
      const n = Math.min(chunk, total - start);
      function* lines() {
        for (let i = 0; i < n; i++) {
          const id = randomUUID();
          const type = TYPES[Math.floor(rand() * TYPES.length)]!;
          const user = `u${Math.floor(rand() * users)}`;
          // Squaring skews item popularity towards low ids, as real catalogs are skewed.
          const item = `i${Math.floor(rand() ** 2 * items)}`;
          const at = new Date(now - Math.floor(rand() * 48 * 3_600_000)).toISOString();
          const event = {
            event_id: id,
            type,
            user_id: user,
            item_id: item,
            timestamp: at,
            ...(type === "purchase" ? { value: Math.round(rand() * 10000) / 100 } : {}),
            context: { device: "web", country: "DE" },
          };
          const payload = JSON.stringify(event).replace(/\\/g, "\\\\");
          yield `${id}\tinteraction\t${type}\t${user}\t${item}\t${at}\t${payload}\n`;
        }
      }
      await pipeline(
        Readable.from(lines()),
        client.query(
          copyFrom("COPY events (event_id, kind, type, user_id, item_id, occurred_at, payload) FROM STDIN"),
        ),
      );
    }
  } finally {
    await client.end();
  }
}

const round = (v: number | undefined, digits = 2) => (v === undefined ? null : Number(v.toFixed(digits)));

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  printResultAndExit(runRebuildBench({ events: arg("events"), batchSize: arg("batch") }));
}
