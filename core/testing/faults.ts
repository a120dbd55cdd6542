import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";
import { REPO_ROOT } from "../runtime/local-env.ts";
import { createKafka } from "../kafka/kafka.ts";
import { openClickHouse } from "../clickhouse/open.ts";
import { collectTopic } from "./kafka.ts";

/**
 * Fault tests: private instances of the stores a test kills (so the shared stack and other tests are never
 * disturbed), the platform in a child process, load with client event ids, and the checks every fault ends with:
 * each acknowledged event in Postgres once, in Kafka at least once, in ClickHouse once, and Redis counts equal to
 * Postgres. Nothing here asserts on time: waits are bounded and fail naming what was still missing.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Polls `probe` until it returns true; throws `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

// ------------------------------------------------------------------------------------------------
// Redis
// ------------------------------------------------------------------------------------------------

export interface PrivateRedis {
  url: string;
  /** Starts the server (again) on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it with a signal: SIGKILL loses what the append-only file had not fsynced yet. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  flushAll(): Promise<void>;
  destroy(): Promise<void>;
}

/** A redis-server of its own (own port, own data directory), with an append-only file fsynced every second. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-fault-redis-"));
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const ping = async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === "PONG";
    } finally {
      client.disconnect();
    }
  };
  const redis: PrivateRedis = {
    url,
    async start() {
      child = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"],
        { stdio: "ignore" },
      );
      child.on("error", () => undefined);
      await waitUntil(`private Redis on ${port}`, ping, 20_000);
    },
    async kill(signal = "SIGKILL") {
      if (!child) return;
      const exited = waitExit(child);
      child.kill(signal);
      await exited;
      child = undefined;
    },
    async flushAll() {
      const client = new Redis(url);
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    async destroy() {
      await redis.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}

// ------------------------------------------------------------------------------------------------
// Postgres
// ------------------------------------------------------------------------------------------------

const PG_BIN = process.env.RECKON_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PrivatePostgres {
  /** `postgres://…/reckon` on the private server. */
  url: string;
  port: number;
  start(): Promise<void>;
  /** `fast` shuts down cleanly; `immediate` is a crash (recovery from the WAL on the next start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  destroy(): Promise<void>;
}

/** A Postgres cluster of its own (initdb in a temp directory, own port); run as the `postgres` user under root. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-fault-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (bin: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", path.join(PG_BIN, bin), ...args], { stdio: "pipe" })
      : execFileSync(path.join(PG_BIN, bin), args, { stdio: "pipe" });
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  // fsync off: the faults here kill processes, not the machine, so the page cache keeps what was written.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/reckon`,
    port,
    async start() {
      run("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-o", options, "-w", "start"]);
    },
    async stop(mode = "fast") {
      run("pg_ctl", ["-D", data, "-m", mode, "-w", "stop"]);
    },
    async destroy() {
      try {
        await server.stop("immediate");
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    await admin.query("CREATE DATABASE reckon");
    await admin.end();
  } catch (err) {
    await server.destroy();
    throw err;
  }
  return server;
}

// ------------------------------------------------------------------------------------------------
// Kafka (single-node KRaft, from the jars deploy/local-stack/stack.sh caches)
// ------------------------------------------------------------------------------------------------

export interface PrivateKafka {
  brokers: string;
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  destroy(): Promise<void>;
}

function kafkaLibs(): string {
  const cache = process.env.RECKON_CACHE_DIR ?? path.join(os.homedir(), ".cache/reckon");
  const pom = execFileSync(
    "sed",
    [
      "-n",
      "s:.*<kafka.version>\\(.*\\)</kafka.version>.*:\\1:p",
      path.join(REPO_ROOT, "deploy/local-stack/kafka/pom.xml"),
    ],
    {
      encoding: "utf8",
    },
  ).trim();
  const libs = path.join(cache, `kafka-${pom}`, "libs");
  if (!existsSync(libs)) throw new Error(`Kafka jars not found in ${libs}: run "npm run stack:up" once`);
  return libs;
}

export async function startPrivateKafka(): Promise<PrivateKafka> {
  const [port, controller] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-fault-kafka-"));
  const libs = kafkaLibs();
  const log4j = path.join(REPO_ROOT, "deploy/local-stack/kafka/log4j2.properties");
  const props = path.join(dir, "server.properties");
  writeFileSync(
    props,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.bootstrap.servers=127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      "inter.broker.listener.name=PLAINTEXT",
      "controller.listener.names=CONTROLLER",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${path.join(dir, "data")}`,
      "auto.create.topics.enable=false",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=3",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
    ].join("\n") + "\n",
  );
  const java = [
    "-Xmx512m",
    "-Xms128m",
    `-Dlog4j2.configurationFile=${log4j}`,
    `-Dkafka.logs.dir=${dir}`,
    "-cp",
    `${libs}/*`,
  ];
  execFileSync(
    "java",
    [...java, "kafka.tools.StorageTool", "format", "--standalone", "-t", randomClusterId(), "-c", props],
    {
      stdio: "pipe",
    },
  );
  let child: ChildProcess | undefined;
  const brokers = `127.0.0.1:${port}`;
  const kafka: PrivateKafka = {
    brokers,
    async start() {
      child = spawn("java", [...java, "kafka.Kafka", props], { stdio: "ignore" });
      child.on("error", () => undefined);
      await waitUntil(
        `private Kafka on ${port}`,
        async () => {
          // Quiet and without retries: refused connections are expected until the broker is up.
          const admin = new Kafka({
            brokers: [brokers],
            logLevel: logLevel.NOTHING,
            retry: { retries: 0 },
          }).admin();
          try {
            await admin.connect();
            await admin.describeCluster();
            return true;
          } finally {
            await admin.disconnect().catch(() => undefined);
          }
        },
        90_000,
      );
    },
    async kill(signal = "SIGKILL") {
      if (!child) return;
      const exited = waitExit(child);
      child.kill(signal);
      await exited;
      child = undefined;
    },
    async destroy() {
      await kafka.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await kafka.start();
  return kafka;
}

function randomClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ""), "hex").toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

// ------------------------------------------------------------------------------------------------
// The platform in a child process
// ------------------------------------------------------------------------------------------------

export interface PlatformProcess {
  url: string;
  env: Record<string, string>;
  /** Starts it (again) with the same environment; resolves once it listens. */
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Everything the process wrote (its logs, JSON lines), across restarts. */
  output(): string;
}

export interface PlatformOptions {
  DATABASE_URL: string;
  REDIS_URL: string;
  KAFKA_BROKERS: string;
  roles?: string;
  extraEnv?: Record<string, string>;
}

export const FAULT_KEYS = {
  write: `rk_write_${randomUUID().replace(/-/g, "")}`,
  read: `rk_read_${randomUUID().replace(/-/g, "")}`,
};

/** `reckon start --roles …` in a child process with its own topics, key prefix, groups and ClickHouse directory. */
export async function createPlatform(
  options: PlatformOptions,
): Promise<PlatformProcess & { chdbDir: string; topic: string; prefix: string }> {
  const port = await freePort();
  const tag = randomUUID().slice(0, 8);
  const chdbDir = mkdtempSync(path.join(os.tmpdir(), "reckon-fault-ch-"));
  const topic = `fault.events.${tag}`;
  const prefix = `rkfault${tag}`;
  const env: Record<string, string> = {
    DATABASE_URL: options.DATABASE_URL,
    REDIS_URL: options.REDIS_URL,
    KAFKA_BROKERS: options.KAFKA_BROKERS,
    KAFKA_EVENTS_TOPIC: topic,
    KAFKA_DLQ_TOPIC: `${topic}.dlq`,
    KAFKA_PARTITIONS: "3",
    RECKON_REDIS_PREFIX: prefix,
    RECKON_PROJECTOR_GROUP_PREFIX: `fault.projector.${tag}.`,
    CLICKHOUSE_URL: `chdb://${chdbDir}`,
    CLICKHOUSE_HTTP_PORT: String(await freePort()),
    RECKON_WRITE_KEYS: FAULT_KEYS.write,
    RECKON_READ_KEYS: FAULT_KEYS.read,
    RECKON_TRAIN_INTERVAL_MINUTES: "0",
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ...options.extraEnv,
  };
  let child: ChildProcess | undefined;
  let output = "";
  const url = `http://127.0.0.1:${port}`;
  const platform = {
    url,
    env,
    chdbDir,
    topic,
    prefix,
    output: () => output,
    async start() {
      const { PATH, HOME } = process.env;
      child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.join(REPO_ROOT, "bin/reckon.ts"),
          "start",
          "--roles",
          options.roles ?? "ingest,relay,projectors",
        ],
        { env: { PATH: PATH ?? "", HOME: HOME ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      const started = child;
      await waitUntil(
        `the platform listening on ${port}`,
        async () => {
          if (started.exitCode !== null)
            throw new Error(`platform exited with ${started.exitCode}:\n${output.slice(-2000)}`);
          return (await fetch(`${url}/healthz`)).ok;
        },
        90_000,
      );
    },
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (!child) return;
      const exited = waitExit(child);
      child.kill(signal);
      await exited;
      child = undefined;
    },
  };
  return platform;
}

// ------------------------------------------------------------------------------------------------
// Load
// ------------------------------------------------------------------------------------------------

export interface LoadResult {
  /** Event ids the API acknowledged (accepted or duplicate): each must be in every store. */
  acked: Set<string>;
  /** Requests that failed (connection refused, 5xx, 429) and were sent again with the same event ids. */
  retries: number;
}

export interface LoadOptions {
  url: string;
  ratePerSecond: number;
  seconds: number;
  users?: number;
  items?: number;
  /** After the load window, how long a batch not yet acknowledged keeps being resent (default 120 s). */
  drainMs?: number;
}

/**
 * Sends view events with client event ids at a modest rate, in batches every 100 ms, for `seconds`. A batch that
 * is not acknowledged (the server is down, answers 5xx or 429) is resent with the same ids until it is, which is
 * what a client does and what makes "every acknowledged event is stored once" checkable.
 */
export function driveLoad(options: LoadOptions): { done: Promise<LoadResult>; sent: () => number } {
  const users = options.users ?? 40;
  const items = options.items ?? 60;
  const acked = new Set<string>();
  let retries = 0;
  let sent = 0;
  const perTick = Math.max(1, Math.round(options.ratePerSecond / 10));
  const ticks = Math.round(options.seconds * 10);
  const drainDeadline = () => Date.now() + (options.drainMs ?? 120_000);
  const sendUntilAcked = async (events: object[], deadline: number) => {
    for (;;) {
      try {
        const res = await fetch(`${options.url}/v1/events`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${FAULT_KEYS.write}` },
          body: JSON.stringify({ events }),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.ok) {
          const body = (await res.json()) as { results: { event_id: string; status: string }[] };
          for (const r of body.results) if (r.status !== "rejected") acked.add(r.event_id);
          return;
        }
        await res.body?.cancel();
        if (res.status < 500 && res.status !== 429) throw new Error(`POST /v1/events answered ${res.status}`);
      } catch (err) {
        if ((err as Error).message.startsWith("POST /v1/events answered")) throw err;
      }
      retries++;
      if (Date.now() > deadline) throw new Error(`a batch was not acknowledged before the drain deadline`);
      await sleep(200);
    }
  };
  const done = (async () => {
    const pending: Promise<void>[] = [];
    for (let tick = 0; tick < ticks; tick++) {
      const events = Array.from({ length: perTick }, () => ({
        event_id: randomUUID(),
        type: "view",
        user_id: `u${Math.floor(Math.random() * users)}`,
        item_id: `i${Math.floor(Math.random() * items)}`,
        timestamp: new Date().toISOString(),
      }));
      sent += events.length;
      pending.push(sendUntilAcked(events, drainDeadline() + options.seconds * 1000));
      await sleep(100);
    }
    await Promise.all(pending);
    return { acked, retries };
  })();
  return { done, sent: () => sent };
}

// ------------------------------------------------------------------------------------------------
// Checks
// ------------------------------------------------------------------------------------------------

interface StatusBody {
  head: string;
  projectors: {
    name: string;
    position: string;
    lag: number;
    read_model?: { state: string; rebuilds: number };
  }[];
}

export async function readStatus(url: string): Promise<StatusBody> {
  const res = await fetch(`${url}/v1/status`, { headers: { authorization: `Bearer ${FAULT_KEYS.read}` } });
  if (!res.ok) throw new Error(`/v1/status answered ${res.status}`);
  return (await res.json()) as StatusBody;
}

/** Waits until every projector reports lag 0 and no read model is rebuilding. */
export async function waitCaughtUp(url: string, timeoutMs = 120_000): Promise<StatusBody> {
  let last: StatusBody | undefined;
  await waitUntil(
    "every projection to catch up",
    async () => {
      last = await readStatus(url);
      return (
        last.projectors.length > 0 &&
        last.projectors.every((p) => p.lag === 0 && p.read_model?.state !== "rebuilding")
      );
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(last)}`);
  });
  return last!;
}

/** Every acknowledged event is in Postgres exactly once. */
export async function checkPostgres(databaseUrl: string, acked: ReadonlySet<string>): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ event_id: string; n: number }>(
      "SELECT event_id::text, count(*)::int AS n FROM events WHERE kind = 'interaction' GROUP BY event_id",
    );
    const counts = new Map(rows.map((r) => [r.event_id, r.n]));
    const problems: string[] = [];
    const missing = [...acked].filter((id) => !counts.has(id));
    if (missing.length > 0) problems.push(`${missing.length} acknowledged events missing from Postgres`);
    const twice = rows.filter((r) => r.n !== 1);
    if (twice.length > 0) problems.push(`${twice.length} events stored more than once in Postgres`);
    return problems;
  } finally {
    await client.end();
  }
}

/** Every acknowledged event reached Kafka (at least once). */
export async function checkKafka(
  brokers: string,
  topic: string,
  acked: ReadonlySet<string>,
): Promise<string[]> {
  const collector = await collectTopic(createKafka(brokers.split(",")), topic);
  try {
    await collector.waitFor(acked, 60_000);
    return [];
  } catch (err) {
    return [(err as Error).message];
  } finally {
    await collector.stop();
  }
}

/** Every acknowledged event is in ClickHouse once (the platform must be stopped: chdb holds its directory). */
export async function checkClickHouse(chdbDir: string, acked: ReadonlySet<string>): Promise<string[]> {
  const ch = await openClickHouse(`chdb://${chdbDir}`);
  try {
    const rows = await ch.query<{ event_id: string; n: string }>(
      "SELECT toString(event_id) AS event_id, count() AS n FROM reckon.events FINAL GROUP BY event_id",
    );
    const counts = new Map(rows.map((r) => [r.event_id, Number(r.n)]));
    const problems: string[] = [];
    const missing = [...acked].filter((id) => !counts.has(id));
    if (missing.length > 0) problems.push(`${missing.length} acknowledged events missing from ClickHouse`);
    const twice = rows.filter((r) => Number(r.n) !== 1);
    if (twice.length > 0) problems.push(`${twice.length} events more than once in ClickHouse`);
    return problems;
  } finally {
    await ch.close();
  }
}

/**
 * The features projection's per-user and per-item counts (`n:<type>`) equal Postgres's for every user and item,
 * read in the version readers use.
 */
export async function checkRedisCounts(
  redisUrl: string,
  prefix: string,
  databaseUrl: string,
): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  const redis = new Redis(redisUrl);
  await client.connect();
  try {
    const version = Number((await redis.get(`${prefix}:projection:features:version`)) ?? 1);
    const base = `${prefix}:f:v${version}:`;
    const problems: string[] = [];
    for (const [column, tag, hashOf] of [
      ["user_id", "u", (id: string) => `${base}{u:${id}}:p`],
      ["item_id", "i", (id: string) => `${base}{i:${id}}:n`],
    ] as const) {
      const { rows } = await client.query<{ id: string; type: string; n: number }>(
        `SELECT ${column} AS id, type, count(*)::int AS n FROM events
          WHERE kind = 'interaction' AND ${column} IS NOT NULL GROUP BY 1, 2`,
      );
      let wrong = 0;
      for (const row of rows) {
        const field = tag === "u" ? `n:${row.type}` : row.type;
        const stored = Number((await redis.hget(hashOf(row.id), field)) ?? 0);
        if (stored !== row.n) wrong++;
      }
      if (wrong > 0)
        problems.push(`${wrong} of ${rows.length} ${column} counts in Redis differ from Postgres`);
    }
    return problems;
  } finally {
    redis.disconnect();
    await client.end();
  }
}

/** Runs every check once the projections caught up, stopping the platform before reading its ClickHouse. */
export async function checkEveryStore(
  platform: Awaited<ReturnType<typeof createPlatform>>,
  acked: ReadonlySet<string>,
): Promise<string[]> {
  await waitCaughtUp(platform.url);
  const { DATABASE_URL, REDIS_URL, KAFKA_BROKERS } = platform.env;
  const problems = [
    ...(await checkPostgres(DATABASE_URL!, acked)),
    ...(await checkRedisCounts(REDIS_URL!, platform.prefix, DATABASE_URL!)),
    ...(await checkKafka(KAFKA_BROKERS!, platform.topic, acked)),
  ];
  await platform.kill("SIGTERM");
  problems.push(...(await checkClickHouse(platform.chdbDir, acked)));
  return problems;
}

export interface FaultScenario {
  stores: PlatformOptions;
  /** What goes wrong, while the load runs (the projections have applied events when it is called). */
  fault(platform: Awaited<ReturnType<typeof createPlatform>>): Promise<void>;
  /** Load rate and length (default 300 events/s for 8 s). */
  ratePerSecond?: number;
  seconds?: number;
  /** Runs after the load, before the stores are checked (the platform is still up). */
  inspect?(platform: Awaited<ReturnType<typeof createPlatform>>): Promise<void>;
}

/**
 * One fault run: the platform starts, load begins, the fault happens once the projections applied something,
 * the load's unacknowledged batches are resent until acknowledged, and every store is checked.
 * Returns the problems found (empty when every acknowledged event is where it must be) and the load's figures.
 */
export async function runFaultScenario(
  scenario: FaultScenario,
): Promise<{ problems: string[]; acked: number; retries: number; output: string }> {
  const platform = await createPlatform(scenario.stores);
  await platform.start();
  try {
    // A first trickle, projected, so the fault hits a running pipeline with state in every store.
    const warmUp = await driveLoad({ url: platform.url, ratePerSecond: 50, seconds: 1 }).done;
    await waitUntil("the projections to apply the first events", async () =>
      (await readStatus(platform.url)).projectors.every((p) => p.position !== "0.0"),
    );
    const load = driveLoad({
      url: platform.url,
      ratePerSecond: scenario.ratePerSecond ?? 300,
      seconds: scenario.seconds ?? 8,
    });
    await sleep(2000);
    await scenario.fault(platform);
    const { acked: loadAcked, retries } = await load.done;
    const acked = new Set([...warmUp.acked, ...loadAcked]);
    await scenario.inspect?.(platform);
    const problems = await checkEveryStore(platform, acked);
    return { problems, acked: acked.size, retries, output: platform.output() };
  } catch (err) {
    // The platform's own account of what went wrong is the first thing a failed fault run needs.
    (err as Error).message +=
      `\n--- platform output (last 4,000 characters) ---\n${platform.output().slice(-4000)}`;
    throw err;
  } finally {
    await platform.kill("SIGKILL");
    rmSync(platform.chdbDir, { recursive: true, force: true });
  }
}
