import { randomUUID } from "node:crypto";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { machine, modesOf, runK6, startEmbeddedServer, startServer, type BenchMode } from "./support.ts";

/**
 * One mode's ingest figures: events/s acknowledged by POST /v1/events (batches of 100–500, k6 in another
 * process), p50/p99 batch latency, then p50/p99 of 100-event batches at half that rate; on the stack also, as
 * the physical limit in the same run, a raw COPY of the same rows into the same table.
 */
async function measureIngest(mode: BenchMode, options: { seconds?: number; vus?: number }) {
  const seconds = options.seconds ?? 30;
  const vus = options.vus ?? 8;
  const writeKey = "bench-write-key-0123456789";
  const embedded =
    mode === "embedded" ? await startEmbeddedServer({ RECKON_WRITE_KEYS: writeKey }) : undefined;
  const db = embedded ? undefined : await createTestDatabase();
  const server =
    embedded ??
    (await startServer("ingest,relay", {
      DATABASE_URL: db!.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
      REDIS_URL: stackEnv().REDIS_URL,
      KAFKA_EVENTS_TOPIC: uniqueName("bench.events"),
      RECKON_WRITE_KEYS: writeKey,
    }));
  const script = path.join(REPO_ROOT, "loadtests/ingest.js");
  try {
    runK6(script, { BASE_URL: server.url, WRITE_KEY: writeKey, MODE: "max", VUS: "4", DURATION: "5s" }); // warm-up
    const max = runK6(script, {
      BASE_URL: server.url,
      WRITE_KEY: writeKey,
      MODE: "max",
      VUS: String(vus),
      DURATION: `${seconds}s`,
    });
    const accepted = max.metrics.accepted_events?.values.count ?? 0;
    const eventsPerSecond = accepted / seconds;
    const batchLatency = max.metrics.http_req_duration!.values;

    const halfRate = Math.max(1, Math.round(eventsPerSecond / 2 / 100));
    const half = runK6(script, {
      BASE_URL: server.url,
      WRITE_KEY: writeKey,
      MODE: "rate",
      RATE: String(halfRate),
      BATCH: "100",
      DURATION: "15s",
    });
    const halfLatency = half.metrics.http_req_duration!.values;
    const failed =
      (max.metrics.http_req_failed?.values.rate ?? 0) + (half.metrics.http_req_failed?.values.rate ?? 0);

    // The physical limit: COPY into the server's table (PGlite has no COPY FROM STDIN; see core/postgres).
    const copyRows = Math.max(50_000, Math.round(accepted));
    const copyEventsPerSecond = db ? await copyBaseline(db.url, copyRows) : undefined;

    return {
      mode,
      roles: embedded
        ? "every role, one process (embedded stores)"
        : "ingest,relay (Postgres and Kafka servers)",
      duration_s: seconds,
      ingest: {
        events_acknowledged: accepted,
        events_per_s: Math.round(eventsPerSecond),
        batch_latency_ms: { p50: round(batchLatency.med), p99: round(batchLatency["p(99)"]) },
        failed_request_rate: failed,
      },
      latency_at_half_load: {
        batch_size: 100,
        rate_batches_per_s: halfRate,
        p50_ms: round(halfLatency.med),
        p99_ms: round(halfLatency["p(99)"]),
      },
      ...(copyEventsPerSecond === undefined
        ? {}
        : {
            baseline_copy: { rows: copyRows, events_per_s: Math.round(copyEventsPerSecond) },
            ratio_to_copy: round(eventsPerSecond / copyEventsPerSecond, 3),
            goal: "ratio_to_copy >= 0.3",
          }),
    };
  } finally {
    await server.stop();
    await db?.drop();
    await embedded?.cleanup();
  }
}

/**
 * `npm run bench -- ingest [--mode embedded|stack|both]`: events/s acknowledged by POST /v1/events and batch
 * latency, on the server stack (API and relay, Postgres and Kafka) and/or embedded (every role in one process
 * on PGlite, the Postgres tail, memory:// and chdb), side by side with their ratio.
 */
export async function runIngestBench(
  options: { seconds?: number; vus?: number; mode?: BenchMode | "both" } = {},
) {
  const results: Record<string, Awaited<ReturnType<typeof measureIngest>>> = {};
  for (const mode of modesOf(options.mode ?? "stack")) results[mode] = await measureIngest(mode, options);
  const { stack, embedded } = results;
  return {
    bench: "ingest",
    machine: machine(),
    load: { generator: "k6 (separate process)", vus: options.vus ?? 8, batch_size: "100-500 (uniform)" },
    modes: results,
    ...(stack && embedded
      ? {
          embedded_to_stack: {
            events_per_s: round(embedded.ingest.events_per_s / stack.ingest.events_per_s, 3),
            half_load_p99: round(
              (embedded.latency_at_half_load.p99_ms ?? NaN) / (stack.latency_at_half_load.p99_ms ?? NaN),
              3,
            ),
          },
        }
      : {}),
  };
}

/** COPY of rows shaped exactly like ingest's into the same events table: the table's physical write limit. */
async function copyBaseline(url: string, rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = new Date().toISOString();
    function* lines() {
      for (let i = 0; i < rows; i++) {
        const id = randomUUID();
        const payload = JSON.stringify({
          event_id: id,
          type: "view",
          user_id: `u${i % 50000}`,
          item_id: `i${i % 5000}`,
          timestamp: now,
          context: { device: "web", country: "DE" },
        });
        yield `${id}\tinteraction\tview\tu${i % 50000}\ti${i % 5000}\t${now}\t${payload.replace(/\\/g, "\\\\")}\n`;
      }
    }
    const started = performance.now();
    await pipeline(
      Readable.from(lines()),
      client.query(
        copyFrom("COPY events (event_id, kind, type, user_id, item_id, occurred_at, payload) FROM STDIN"),
      ),
    );
    return rows / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}

const round = (v: number | undefined, digits = 2) => (v === undefined ? null : Number(v.toFixed(digits)));
