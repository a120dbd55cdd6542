import { randomUUID } from "node:crypto";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { createClient } from "@clickhouse/client";
import { Partitioners, type Kafka } from "kafkajs";
import { createKafka, ensureTopics } from "../core/kafka/kafka.ts";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../core/testing/stack.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { deleteKeys } from "../projectors/runtime/replay.ts";
import {
  k6Path,
  machine,
  modesOf,
  percentile,
  printResultAndExit,
  processCpuSeconds,
  startEmbeddedServer,
  startServer,
  waitForProjections,
  type BenchMode,
} from "./support.ts";

/**
 * `npm run bench -- freshness [--mode stack|embedded|both]`: under a sustained background ingest load (k6, another
 * process), probe events of the bench's own users are sent every ~100 ms; per probe, the time from the HTTP
 * acknowledgement until (a) the item is in the user's recent history (`GET /v1/users/:id/features`, what serving
 * reads), and (b) its row is readable through the ClickHouse HTTP endpoint. Both are read through what the
 * process exposes, so the same probes run on the server stack and on the embedded process (every role in one
 * process on a fresh data directory). On the stack, the baseline of the same run is Kafka produce→consume of a
 * message of the same size on a fresh topic; with both modes, the stack's figures are the embedded ones' baseline.
 * Each rate runs against its own fresh server, database, topic, Redis prefix, consumer groups and ClickHouse
 * directory (or data directory), all removed afterwards.
 */
export interface FreshnessOptions {
  /** Target background ingest rates in events/s (default: 5,000, then 1,000). */
  rates?: number[];
  batch?: number;
  warmupSeconds?: number;
  seconds?: number;
  probeIntervalMs?: number;
  /** Where Reckon runs (default the stack). */
  mode?: BenchMode | "both";
}

const WRITE_KEY = "bench-write-key-0123456789";
const READ_KEY = "bench-read-key-0123456789";
/** How often a young probe's user features are read. */
const HISTORY_POLL_MS = 20;
const CLICKHOUSE_POLL_MS = Number(process.env.FRESHNESS_CLICKHOUSE_POLL_MS ?? 50);
/**
 * Process layout: `split` (default) runs the API | relay, projections and analytics (in-process chdb); `writer`
 * ingest and the relay (the writer: it writes the log and publishes it) | the projections and analytics (the
 * readers); `single` every role in one process (the quickstart's); `three` the API | relay and Redis
 * projections | analytics.
 */
const LAYOUTS = ["single", "split", "three", "writer"] as const;
const LAYOUT: (typeof LAYOUTS)[number] = LAYOUTS.find((l) => l === process.env.FRESHNESS_LAYOUT) ?? "split";
const LAYOUT_DESCRIPTION: Record<(typeof LAYOUTS)[number], string> = {
  single: "ingest,relay,projectors,analytics (one child process, in-process chdb)",
  split: "two child processes: ingest (the API) | relay,projectors,analytics (the pipeline, in-process chdb)",
  three:
    "three child processes: ingest (the API) | relay, features and recommendations projections | analytics projection and API (in-process chdb)",
  writer:
    "two child processes: ingest and relay (the writer) | projectors,analytics (the readers, in-process chdb)",
};
/**
 * The catalog of the items the load interacts with (loadtests/ingest.js: i0…i4999), each in 1–3 of 58 categories
 * (2 on average), so every interaction also fans out to its item's categories (affinities, category trending) as
 * in a product with a catalog. FRESHNESS_CATALOG=0 runs without one (sessions 1–5 measured that way).
 */
const CATALOG_ITEMS = Number(process.env.FRESHNESS_CATALOG ?? 5000);
const categoriesOf = (n: number) => [`c${n % 40}`, `g${n % 7}`, `t${n % 11}`].slice(0, 1 + (n % 3));

async function seedCatalog(apiUrl: string, statusUrl: string, count: number): Promise<void> {
  for (let from = 0; from < count; from += 1000) {
    const items = Array.from({ length: Math.min(1000, count - from) }, (_, i) => ({
      item_id: `i${from + i}`,
      title: `Item ${from + i}`,
      categories: categoriesOf(from + i),
    }));
    const res = await fetch(`${apiUrl}/v1/items`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify({ items }),
    });
    if (!res.ok) throw new Error(`catalog seed refused: ${res.status} ${await res.text()}`);
  }
  // Projected before the load starts, so the fan-outs find every item's categories.
  await waitForProjections(
    statusUrl,
    { authorization: `Bearer ${READ_KEY}` },
    { timeoutMs: 60_000, pollMs: 200 },
  );
}

/** A probe whose effect has not appeared this long after its acknowledgement counts as missing. */
const PROBE_TIMEOUT_MS = 30_000;

export async function runFreshnessBench(options: FreshnessOptions = {}) {
  const modes = modesOf(options.mode ?? "stack");
  const byMode: Partial<Record<BenchMode, Awaited<ReturnType<typeof runRates>>>> = {};
  for (const mode of modes) byMode[mode] = await runRates(options, mode);
  const p99 = (mode: BenchMode, rate: number, key: "user_history" | "clickhouse_row") =>
    byMode[mode]?.find((r) => r.target_events_per_s === rate)?.freshness_ms[key].p99 ?? null;
  return {
    bench: "freshness",
    machine: { ...machine(), load_average_1m_at_end: Number(os.loadavg()[0]!.toFixed(2)) },
    load: {
      generator: "k6 constant-arrival-rate (separate process), loadtests/ingest.js MODE=rate",
      server_roles: Object.fromEntries(
        modes.map((m) => [
          m,
          m === "embedded"
            ? "every role in one child process on a fresh data directory"
            : LAYOUT_DESCRIPTION[LAYOUT],
        ]),
      ),
      catalog:
        CATALOG_ITEMS > 0
          ? `${CATALOG_ITEMS} items (those the load interacts with), 1-3 categories each (mean ${(
              Array.from({ length: CATALOG_ITEMS }, (_, n) => categoriesOf(n).length).reduce(
                (a, b) => a + b,
                0,
              ) / CATALOG_ITEMS
            ).toFixed(1)})`
          : "none (FRESHNESS_CATALOG=0): interactions have no category effects",
    },
    goal: "p99 < 1000 ms at 5,000 events/s",
    scenarios: byMode,
    // Below 1: the embedded process makes events visible sooner than the stack at the same rate.
    embedded_p99_to_stack_p99:
      byMode.stack && byMode.embedded
        ? byMode.embedded.map((r) => ({
            rate: r.target_events_per_s,
            user_history: ratio(
              p99("embedded", r.target_events_per_s, "user_history"),
              p99("stack", r.target_events_per_s, "user_history"),
            ),
            clickhouse_row: ratio(
              p99("embedded", r.target_events_per_s, "clickhouse_row"),
              p99("stack", r.target_events_per_s, "clickhouse_row"),
            ),
          }))
        : undefined,
  };
}

async function runRates(options: FreshnessOptions, mode: BenchMode) {
  const rates = options.rates ?? [5000, 1000];
  const results = [];
  const batch = options.batch ?? 500;
  const queue = [...rates];
  let addedReachedRate = false;
  for (let rate = queue.shift(); rate !== undefined; rate = queue.shift()) {
    const result = await runScenario({
      mode,
      rate,
      batch,
      warmupSeconds: options.warmupSeconds ?? 10,
      seconds: options.seconds ?? 30,
      probeIntervalMs: options.probeIntervalMs ?? 100,
    });
    results.push(result);
    // Not sustained: measure again at the rate this machine did reach (in whole batches), if no lower run covers it.
    const reached = Math.floor(result.ingest.events_per_s_acknowledged / batch) * batch;
    if (
      !addedReachedRate &&
      !result.ingest.sustained &&
      reached >= batch &&
      queue.every((r) => r < reached * 0.9)
    ) {
      addedReachedRate = true;
      queue.unshift(reached);
    }
  }
  return results;
}

interface Scenario {
  mode: BenchMode;
  rate: number;
  batch: number;
  warmupSeconds: number;
  seconds: number;
  probeIntervalMs: number;
}

interface Probe {
  user: string;
  item: string;
  ackAt: number;
  history?: number;
  clickhouse?: number;
}

async function runScenario(s: Scenario) {
  const id = uniqueName("fresh");
  const onStack = s.mode === "stack";
  const env = onStack ? stackEnv() : undefined;
  const topic = `bench.${id}.events`;
  const dlqTopic = `bench.${id}.dlq`;
  const groupPrefix = `bench.${id}.`;
  const redisPrefix = `bench:${id}`;
  const chdbDir = mkdtempSync(path.join(os.tmpdir(), "reckon-fresh-chdb-"));
  const chPort = 19000 + Math.floor(Math.random() * 1000);
  const kafka = env && createKafka(env.KAFKA_BROKERS, `bench-${id}`);
  const redis = env && new Redis(env.REDIS_URL);
  let db: TestDatabase | undefined;
  let embedded: Awaited<ReturnType<typeof startEmbeddedServer>> | undefined;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let api: Awaited<ReturnType<typeof startServer>> | undefined;
  let analytics: Awaited<ReturnType<typeof startServer>> | undefined;
  let k6: K6Run | undefined;
  // The analysts' endpoint always needs credentials: the bench gives the server a password and polls with it.
  const chPassword = `bench-${randomUUID()}`;
  const ch = createClient({
    url: `http://127.0.0.1:${chPort}`,
    username: "analyst",
    password: chPassword,
    request_timeout: 10_000,
  });
  try {
    const keys = {
      RECKON_WRITE_KEYS: WRITE_KEY,
      RECKON_READ_KEYS: READ_KEY,
      CLICKHOUSE_HTTP_PORT: String(chPort),
      CLICKHOUSE_HTTP_USER: "analyst",
      CLICKHOUSE_HTTP_PASSWORD: chPassword,
      // Models are not retrained during the measurement (serving answers the features reads).
      RECKON_TRAIN_INTERVAL_MINUTES: "0",
    };
    if (!env) {
      embedded = await startEmbeddedServer(keys);
      server = embedded;
      api = embedded;
    } else {
      db = await createTestDatabase();
      const serverEnv = {
        ...keys,
        DATABASE_URL: db.url,
        KAFKA_BROKERS: env.KAFKA_BROKERS.join(","),
        REDIS_URL: env.REDIS_URL,
        KAFKA_EVENTS_TOPIC: topic,
        KAFKA_DLQ_TOPIC: dlqTopic,
        RECKON_REDIS_PREFIX: redisPrefix,
        RECKON_PROJECTOR_GROUP_PREFIX: groupPrefix,
        CLICKHOUSE_URL: `chdb://${chdbDir}`,
      };
      // A Node process is one event loop: with every role in it, ingest's request handling and the pipeline's
      // JSON work share one core. Split (the default), the API and the pipeline each get one. The API process
      // also serves (the probes read the user's features through it).
      if (LAYOUT === "single") {
        server = await startServer("ingest,serving,relay,projectors,analytics", serverEnv);
        api = server;
      } else if (LAYOUT === "three") {
        server = await startServer("relay,projectors", {
          ...serverEnv,
          RECKON_PROJECTIONS: "features,recommendations",
        });
        // The analytics projection and the ClickHouse endpoint share the process that opens the chdb directory.
        analytics = await startServer("projectors,analytics", {
          ...serverEnv,
          RECKON_PROJECTIONS: "analytics",
        });
        api = await startServer("ingest,serving", serverEnv);
      } else if (LAYOUT === "writer") {
        server = await startServer("projectors,analytics", serverEnv);
        api = await startServer("ingest,relay,serving", serverEnv);
      } else {
        server = await startServer("relay,projectors,analytics", serverEnv);
        api = await startServer("ingest,serving", serverEnv); // ingest and serving open no ClickHouse
      }
    }
    const url = api.url;
    const statusUrl = server.url;
    if (CATALOG_ITEMS > 0) await seedCatalog(url, statusUrl, CATALOG_ITEMS);

    k6 = startK6(path.join(REPO_ROOT, "loadtests/ingest.js"), {
      BASE_URL: url,
      WRITE_KEY,
      MODE: "rate",
      RATE: String(Math.max(1, Math.round(s.rate / s.batch))),
      BATCH: String(s.batch),
      VUS: "32",
      DURATION: `${s.warmupSeconds + s.seconds}s`,
    });
    await sleep(s.warmupSeconds * 1000);

    const baseline = kafka && new KafkaBaseline(kafka, `bench.${id}.baseline`);
    await baseline?.start();
    const recentItemsOf = async (user: string): Promise<string> => {
      const res = await fetch(`${url}/v1/users/${encodeURIComponent(user)}/features`, {
        headers: { authorization: `Bearer ${READ_KEY}` },
      });
      if (!res.ok) return "";
      return JSON.stringify(((await res.json()) as { recent?: unknown }).recent ?? []);
    };

    const probes: Probe[] = [];
    const ackMs: number[] = [];
    let probeErrors = 0;
    const windowStart = new Date();
    // CPU of each server process over the measured window (the pipeline's cost per event, beside its latency).
    const processes = Object.entries({ api, pipeline: server, analytics }).filter(
      (e): e is [string, NonNullable<typeof api>] => e[1] !== undefined && (e[0] === "api" || e[1] !== api),
    );
    const cpuAtStart = processes.map(([, p]) => processCpuSeconds(p.child.pid));
    const measureUntil = Date.now() + s.seconds * 1000;
    let sending = true;

    const sendProbe = async (n: number) => {
      const event = probeEvent(id, n);
      const started = performance.now();
      baseline
        ?.produce(Buffer.byteLength(JSON.stringify(logMessageOf(event))))
        .catch(() => baseline.failed++);
      try {
        const res = await fetch(`${url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${WRITE_KEY}` },
          body: JSON.stringify(event),
        });
        await res.arrayBuffer();
        const ackAt = performance.now();
        if (res.ok) {
          ackMs.push(ackAt - started);
          probes.push({ user: event.user_id, item: event.item_id, ackAt });
        } else probeErrors++;
      } catch {
        probeErrors++;
      }
    };
    // Probes go out on a fixed schedule whatever the server's answer time: an overloaded server must not
    // thin out its own measurement.
    const sender = (async () => {
      const inFlight: Promise<void>[] = [];
      let next = performance.now();
      for (let n = 0; Date.now() < measureUntil; n++) {
        inFlight.push(sendProbe(n));
        next += s.probeIntervalMs;
        await sleep(Math.max(0, next - performance.now()));
      }
      await Promise.all(inFlight);
      sending = false;
    })();

    const pending = (key: keyof Probe) =>
      probes.filter((p) => p[key] === undefined && performance.now() - p.ackAt < PROBE_TIMEOUT_MS);
    const outstanding = () => pending("history").length + pending("clickhouse").length;

    // A probe is checked every HISTORY_POLL_MS while young, then every 1/20 of its age: the resolution stays
    // within 5 % (20 ms up to 400 ms old), and a backlog of thousands of unseen probes cannot turn the
    // measurement itself into the read load that slows the projections down.
    const lastHistoryCheck = new Map<Probe, number>();
    const historyPoller = (async () => {
      while (sending || outstanding() > 0) {
        const now = performance.now();
        const open = probes.filter((p) => {
          if (p.history !== undefined) return false;
          const age = now - p.ackAt;
          return (
            age <= PROBE_TIMEOUT_MS &&
            now - (lastHistoryCheck.get(p) ?? 0) >= Math.max(HISTORY_POLL_MS, age / 20)
          );
        });
        for (const p of open) lastHistoryCheck.set(p, now);
        await Promise.all(
          open.map(async (p) => {
            const recent = await recentItemsOf(p.user).catch(() => "");
            if (recent.includes(JSON.stringify(p.item))) p.history = performance.now() - p.ackAt;
          }),
        );
        await sleep(HISTORY_POLL_MS);
      }
    })();

    let clickhouseErrors = 0;
    const clickhousePoller = (async () => {
      while (sending || outstanding() > 0) {
        const open = pending("clickhouse");
        if (open.length > 0) {
          try {
            // type and user_id lead the sorting key, so this reads a few granules, not the table.
            const rs = await ch.query({
              query: `SELECT DISTINCT user_id FROM reckon.events WHERE type = 'view' AND user_id IN {users:Array(String)}`,
              query_params: { users: open.map((p) => p.user) },
              format: "JSONEachRow",
            });
            const seen = new Set((await rs.json<{ user_id: string }>()).map((r) => r.user_id));
            const now = performance.now();
            for (const p of open) if (seen.has(p.user)) p.clickhouse = now - p.ackAt;
          } catch {
            clickhouseErrors++; // the table appears with the first analytics batch
          }
        }
        // Same rule as the Redis poller, by the youngest unseen probe: each query also waits its turn with the
        // analytics projection's inserts in the engine, so a lagging pipeline is not also queried 20 times a second.
        const youngest = Math.min(...open.map((p) => performance.now() - p.ackAt));
        await sleep(Math.max(CLICKHOUSE_POLL_MS, Number.isFinite(youngest) ? youngest / 20 : 0));
      }
    })();

    await sender;
    const windowEnd = new Date();
    const cpuSeconds = processes.map(([name, p], i) => {
      const end = processCpuSeconds(p.child.pid);
      const start = cpuAtStart[i];
      return [name, end === undefined || start === undefined ? null : end - start] as const;
    });
    baseline?.stopProducing();
    await Promise.all([historyPoller, clickhousePoller]);
    const k6Metrics = await k6.done;
    k6 = undefined;
    const kafkaBaseline = await baseline?.finish();

    const windowSeconds = (windowEnd.getTime() - windowStart.getTime()) / 1000;
    const k6Seconds = s.warmupSeconds + s.seconds;
    const accepted = k6Metrics.accepted_events?.count ?? 0;
    // The stack's log is counted in its database; the embedded process keeps its database to itself, so its
    // window's share of what k6 saw accepted, plus the probes, stands in (the load runs at a constant rate).
    const acknowledged = db
      ? Number(
          (
            await db.db.query<{ n: string }>(
              "SELECT count(*)::bigint AS n FROM events WHERE received_at >= $1 AND received_at < $2",
              [windowStart, windowEnd],
            )
          ).rows[0]!.n,
        )
      : Math.round((accepted * windowSeconds) / k6Seconds) + probes.length;
    const status = await fetch(`${statusUrl}/v1/status`, { headers: { authorization: `Bearer ${READ_KEY}` } })
      .then((r) => r.json())
      .catch((err: unknown) => ({ error: String(err) }));

    const achieved = acknowledged / windowSeconds;
    return {
      target_events_per_s: s.rate,
      batch_size: s.batch,
      warmup_s: s.warmupSeconds,
      measured_s: round(windowSeconds, 1),
      ingest: {
        events_per_s_acknowledged: Math.round(achieved),
        sustained: achieved >= 0.95 * s.rate,
        k6_events_per_s_incl_warmup: Math.round(accepted / k6Seconds),
        k6_dropped_batches: k6Metrics.dropped_iterations?.count ?? 0,
        k6_batch_latency_ms: {
          p50: round(k6Metrics.http_req_duration?.med),
          p99: round(k6Metrics.http_req_duration?.["p(99)"]),
        },
        k6_failed_request_rate: k6Metrics.http_req_failed?.value ?? null,
      },
      // Per acknowledged event in the window; a pipeline that falls behind projects fewer than that.
      server_cpu_ms_per_event: Object.fromEntries(
        cpuSeconds.map(([name, sec]) => [name, sec === null ? null : round((sec * 1000) / acknowledged, 4)]),
      ),
      probes: {
        sent: probes.length + probeErrors,
        errors: probeErrors,
        interval_ms: s.probeIntervalMs,
        ack_ms: stats(ackMs),
      },
      freshness_ms: {
        user_history: stats(probes.flatMap((p) => (p.history === undefined ? [] : [p.history]))),
        clickhouse_row: stats(probes.flatMap((p) => (p.clickhouse === undefined ? [] : [p.clickhouse]))),
        missing_after_30s: {
          user_history: probes.filter((p) => p.history === undefined).length,
          clickhouse_row: probes.filter((p) => p.clickhouse === undefined).length,
        },
        poll_interval_ms: { user_features: HISTORY_POLL_MS, clickhouse: CLICKHOUSE_POLL_MS },
        clickhouse_poll_errors: clickhouseErrors,
      },
      baseline_kafka_produce_consume_ms: kafkaBaseline ?? null,
      ratio_p99_to_kafka_p99: kafkaBaseline
        ? {
            user_history: ratio(
              stats(probes.flatMap((p) => (p.history === undefined ? [] : [p.history]))).p99,
              kafkaBaseline.produce_to_consume.p99,
            ),
            clickhouse_row: ratio(
              stats(probes.flatMap((p) => (p.clickhouse === undefined ? [] : [p.clickhouse]))).p99,
              kafkaBaseline.produce_to_consume.p99,
            ),
          }
        : null,
      projector_status_after: status,
    };
  } finally {
    await k6?.kill();
    await ch.close().catch(() => undefined);
    if (api !== server) await api?.stop();
    await analytics?.stop();
    await server?.stop();
    await db?.drop();
    await embedded?.cleanup();
    if (redis) {
      await deleteKeys(redis, `${redisPrefix}:*`).catch(() => undefined);
      redis.disconnect();
    }
    if (kafka) await removeKafkaLeftovers(kafka, groupPrefix, [topic, dlqTopic, `bench.${id}.baseline`]);
    rmSync(chdbDir, { recursive: true, force: true });
  }
}

function probeEvent(id: string, n: number) {
  return {
    event_id: randomUUID(),
    type: "view",
    user_id: `probe-${id}-u${n}`,
    item_id: `probe-${id}-i${n}`,
    timestamp: new Date().toISOString(),
    context: { device: "web", country: "DE" },
  };
}

/** What the relay publishes for an event: the baseline's messages are this size. */
function logMessageOf(event: ReturnType<typeof probeEvent>) {
  return {
    kind: "interaction",
    position: 123456789,
    transaction_id: "123456789",
    received_at: new Date().toISOString(),
    event,
  };
}

/**
 * The physical limit of "acknowledged → consumed": a producer (acks=all) and a consumer on a fresh topic, with
 * the projectors' fetch wait (50 ms), in the bench process while the same load runs.
 */
class KafkaBaseline {
  private readonly producer;
  private readonly consumer;
  private readonly sent = new Map<string, { start: number; ack?: number; consumed?: number }>();
  private readonly produceToConsume: number[] = [];
  private readonly ackToConsume: number[] = [];
  private producing = true;
  failed = 0;
  private messageBytes = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    this.consumer = kafka.consumer({ groupId: `${topic}.group`, maxWaitTimeInMs: 50 });
  }

  async start(): Promise<void> {
    await ensureTopics(this.kafka, [{ topic: this.topic, partitions: 1 }]);
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    let joined!: () => void;
    const hasJoined = new Promise<void>((r) => (joined = r));
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => joined());
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const now = performance.now();
        const key = message.key?.toString() ?? "";
        const entry = this.sent.get(key);
        if (!entry) return;
        this.sent.delete(key);
        entry.consumed = now;
        this.produceToConsume.push(now - entry.start);
        if (entry.ack !== undefined) this.ackToConsume.push(now - entry.ack);
      },
    });
    await hasJoined;
  }

  async produce(bytes: number): Promise<void> {
    if (!this.producing) return;
    this.messageBytes = bytes;
    const key = randomUUID();
    const entry: { start: number; ack?: number; consumed?: number } = { start: performance.now() };
    this.sent.set(key, entry);
    // The value is padded to the probe's log message size; the key is what matches it on the consumer side.
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key, value: Buffer.alloc(Math.max(0, bytes - key.length), "x") }],
    });
    entry.ack = performance.now();
    // The fetch can hand the message to the consumer before the producer's promise resolves: zero, then.
    if (entry.consumed !== undefined) this.ackToConsume.push(Math.max(0, entry.consumed - entry.ack));
  }

  stopProducing(): void {
    this.producing = false;
  }

  async finish() {
    const deadline = Date.now() + 10_000;
    while (this.sent.size > 0 && Date.now() < deadline) await sleep(20);
    await this.producer.disconnect();
    await this.consumer.disconnect();
    return {
      message_bytes: this.messageBytes,
      produce_to_consume: stats(this.produceToConsume),
      ack_to_consume: stats(this.ackToConsume),
      lost: this.sent.size,
      produce_errors: this.failed,
    };
  }
}

/** Deletes the run's topics and consumer groups (the groups have no members once the server has stopped). */
async function removeKafkaLeftovers(kafka: Kafka, groupPrefix: string, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    const existing = new Set(await admin.listTopics());
    const drop = topics.filter((t) => existing.has(t));
    if (drop.length > 0) await admin.deleteTopics({ topics: drop }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

interface K6Run {
  done: Promise<Record<string, Record<string, number>>>;
  kill(): Promise<void>;
}

/** k6 in the background (support.ts's runK6 blocks the event loop, and the probes need it). */
function startK6(script: string, env: Record<string, string>): K6Run {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-k6-"));
  const summaryFile = path.join(dir, "summary.json");
  const child = spawn(k6Path(), ["run", "--quiet", "--no-color", "--summary-export", summaryFile, script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`k6 exited with ${code}`);
    const raw = JSON.parse(readFileSync(summaryFile, "utf8")) as {
      metrics?: Record<string, Record<string, number>>;
    };
    rmSync(dir, { recursive: true, force: true });
    return raw.metrics ?? {};
  });
  return {
    done,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      done.catch(() => undefined);
    },
  };
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1]),
  };
}

const ratio = (a: number | null, b: number | null) =>
  a === null || b === null || b === 0 ? null : round(a / b);
const round = (v: number | undefined, digits = 1) =>
  v === undefined || Number.isNaN(v) ? null : Number(v.toFixed(digits));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  printResultAndExit(
    runFreshnessBench({
      rates: arg("rates")?.split(",").map(Number),
      seconds: arg("seconds") ? Number(arg("seconds")) : undefined,
      warmupSeconds: arg("warmup") ? Number(arg("warmup")) : undefined,
      mode: arg("mode") as BenchMode | "both" | undefined,
    }),
  );
}
