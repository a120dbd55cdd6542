import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { createKafka } from "../core/kafka/kafka.ts";
import { openDatabase, type Database } from "../core/postgres/database.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { countLogAfter } from "../core/event-store/log-reader.ts";
import type { LogTransport } from "../core/log-transport/port.ts";
import { KafkaLogTransport } from "../core/log-transport/kafka-transport.ts";
import { PostgresTailTransport } from "../core/log-transport/postgres-tail.ts";
import type { ProjectionStore } from "../core/projection-store/port.ts";
import { Relay } from "../ingest/relay/relay.ts";
import { openProjectionStore } from "../projectors/store/open.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { ProjectorRuntime } from "../projectors/runtime/consumer.ts";
import type { Projection } from "../projectors/runtime/projection.ts";
import { loadEvents } from "./rebuild.ts";
import { machine, printResultAndExit } from "./support.ts";

/**
 * `npm run bench -- transport`: events/s the projector runtime projects into the features read model (in-process
 * memory:// store, so the transport is what differs) over each log transport, from a fresh consumer at the start
 * of the log to its last event. Baseline: Kafka as deployed today (the log relayed beforehand into a topic of
 * KAFKA_PARTITIONS' default, 3 partitions; one consumer group). Compared: the Postgres tail on the same Postgres
 * server's log, and on PGlite holding a copy of it. Each transport runs `rounds` times, alternating; the best
 * round counts (machines here are shared and noisy).
 */
export interface TransportBenchOptions {
  events?: number;
  rounds?: number;
}

export async function runTransportBench(options: TransportBenchOptions = {}) {
  const events = options.events ?? 200_000;
  const rounds = options.rounds ?? 2;
  const id = uniqueName("transport");
  const topic = `bench.${id}.events`;
  const storeDir = mkdtempSync(path.join(os.tmpdir(), "reckon-transport-store-"));
  const server = await createTestDatabase();
  const pglite = openDatabase("pglite://");
  const kafka = createKafka(stackEnv().KAFKA_BROKERS, "bench-transport");
  const store = await openProjectionStore(`memory://${storeDir}`);
  const transports: LogTransport[] = [];
  try {
    await loadEvents(server.url, events, 20_000, 5_000);
    await server.db.query("ANALYZE events");
    await migrate(pglite);
    const copyStarted = performance.now();
    await copyLog(server.db, pglite);
    const pgliteLoadSeconds = (performance.now() - copyStarted) / 1000;

    const relayStarted = performance.now();
    const relay = new Relay({ db: server.db, kafka, topic, partitions: 3, name: `relay:${topic}` });
    while ((await relay.publishOnce()) > 0);
    const relaySeconds = (performance.now() - relayStarted) / 1000;
    if ((await countLogAfter(server.db, await relay.position())) !== 0)
      throw new Error("relay did not finish");

    const candidates: Record<string, () => LogTransport> = {
      kafka: () =>
        new KafkaLogTransport({ kafka, topic, dlqTopic: `${topic}.dlq`, partitions: 3, db: server.db }),
      postgres_tail: () => new PostgresTailTransport({ db: server.db, topic }),
      pglite_tail: () => new PostgresTailTransport({ db: pglite, topic }),
    };
    const runs: Record<string, number[]> = { kafka: [], postgres_tail: [], pglite_tail: [] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, open] of Object.entries(candidates)) {
        const transport = open();
        transports.push(transport);
        runs[name]!.push(await projectAll(transport, store, events));
      }
    }
    const best = (name: string) => Math.max(...runs[name]!);
    const kafkaBest = best("kafka");
    return {
      bench: "transport",
      machine: { ...machine(), load_average_1m_at_end: round2(os.loadavg()[0]) },
      data: {
        events,
        projection: "features into memory:// (one consumer, from the start of the log)",
        rounds,
        relay_seconds_beforehand: round2(relaySeconds),
        pglite_copy_seconds: round2(pgliteLoadSeconds),
      },
      baseline_kafka: { events_per_s: kafkaBest, rounds_events_per_s: runs.kafka },
      postgres_tail: {
        events_per_s: best("postgres_tail"),
        rounds_events_per_s: runs.postgres_tail,
        ratio_to_kafka: round2(best("postgres_tail") / kafkaBest, 3),
      },
      pglite_tail: {
        events_per_s: best("pglite_tail"),
        rounds_events_per_s: runs.pglite_tail,
        ratio_to_kafka: round2(best("pglite_tail") / kafkaBest, 3),
      },
    };
  } finally {
    for (const t of transports) await t.close();
    await store.close();
    await pglite.close();
    await server.drop();
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/** Runs a fresh consumer and prefix until `events` messages are applied; returns events/s. */
async function projectAll(transport: LogTransport, store: ProjectionStore, events: number): Promise<number> {
  const features = createFeaturesProjection(store, { prefix: uniqueName("bench-transport") });
  let applied = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const counting: Projection = {
    name: features.name,
    apply: async (batch) => {
      const outcomes = await features.apply(batch);
      applied += batch.messages.length;
      if (applied >= events) done();
      return outcomes;
    },
    appliedPosition: (t, p) => features.appliedPosition(t, p),
  };
  const runtime = new ProjectorRuntime({
    transport,
    projections: [counting],
    groupPrefix: `${uniqueName("bench-transport")}.`,
  });
  const started = performance.now();
  await runtime.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await runtime.stopConsumers();
  return Math.round(events / seconds);
}

/** Copies the server's log into PGlite in transactions of 5,000 rows (unnest inserts: PGlite has no COPY FROM STDIN). */
async function copyLog(from: Database, to: Database): Promise<void> {
  const chunk = 5000;
  for (let after = 0; ; after += chunk) {
    const { rows } = await from.query<{ event_id: string; payload: string }>(
      `SELECT event_id::text, payload::text FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
      [after, chunk],
    );
    if (rows.length === 0) return;
    await to.transaction((tx) =>
      tx.query(
        `INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
         SELECT p.event_id::uuid, 'interaction', p.payload->>'type', p.payload->>'user_id', p.payload->>'item_id',
                (p.payload->>'timestamp')::timestamptz, p.payload
           FROM unnest($1::text[], $2::jsonb[]) AS p(event_id, payload)`,
        [rows.map((r) => r.event_id), rows.map((r) => r.payload)],
      ),
    );
  }
}

const round2 = (v: number | undefined, digits = 2) => (v === undefined ? null : Number(v.toFixed(digits)));

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : undefined;
  };
  printResultAndExit(runTransportBench({ events: arg("events"), rounds: arg("rounds") }));
}
