import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import path from "node:path";
import { Redis } from "ioredis";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { openRedis } from "../core/redis/redis.ts";
import { FeaturesReader } from "../projectors/features/read.ts";
import { RecommendationsReader } from "../projectors/recommendations/read.ts";
import { ArtifactReader } from "../serving/models/artifact-store.ts";
import { loadRanker, type Ranker } from "../serving/models/model-holder.ts";
import { loadModel } from "../serving/models/registry.ts";
import { servingConfigFromEnv } from "../serving/ranking/config.ts";
import { rankForUser, type RankingDeps } from "../serving/ranking/rank.ts";
import { RedisReadModel } from "../serving/ranking/redis-read-model.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { ApiKeys } from "../core/http/auth.ts";
import { serveForTest, TEST_KEYS } from "../core/testing/http.ts";
import { servingRouter } from "../serving/http/router.ts";
import { k6Path, percentile, printResultAndExit } from "./support.ts";
import { seedServingBench } from "./serving.ts";

/**
 * `npx tsx bench/serving-inprocess.ts`: the cost of one recommendation request without HTTP, on the serving
 * bench's data set. Reports, per request: wall time (sequential), Redis commands sent, and the number of
 * Redis round trips made one after another — measured by routing a second client through a proxy that delays
 * every client→server chunk by DELAY_MS: (mean time delayed − mean time direct) / DELAY_MS. Also the
 * throughput of one process with 32 requests in flight (what bounds the sustainable rate).
 */
const DELAY_MS = 5;
const USERS = 2000;

/** A TCP proxy to Redis adding `delayMs` to every chunk the client sends (order kept: equal delays are FIFO). */
async function delayingProxy(target: URL, delayMs: number): Promise<{ url: string; close(): void }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    client.on("data", (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.on("data", (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `redis://127.0.0.1:${port}`, close: () => server.close() };
}

function servingDeps(redis: Redis, prefix: string, ranker: Ranker): RankingDeps {
  // Only the switches compared in A/B rounds come from the environment; the rest are the defaults.
  const config = servingConfigFromEnv({
    RECKON_HTTP_FAST_PATH: process.env.RECKON_HTTP_FAST_PATH,
    RECKON_SERVING_USER_LISTS: process.env.RECKON_SERVING_USER_LISTS,
    RECKON_SERVING_CATALOG_CACHE_MS: process.env.RECKON_SERVING_CATALOG_CACHE_MS,
  });
  const features = new FeaturesReader(redis, prefix);
  return {
    readModel: new RedisReadModel({
      features,
      recommendations: new RecommendationsReader(redis, prefix),
      artifacts: new ArtifactReader(redis, prefix),
      cacheMs: config.cacheMs,
      catalogCacheMs: config.catalogCacheMs,
      userListCacheEntries: config.userListCacheEntries,
    }),
    features,
    ranker: () => ranker,
    config,
  };
}

/** Counts commands a client sends (auto-pipelined commands also go through sendCommand). */
function countCommands(redis: Redis): () => number {
  let n = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    n++;
    return send(...args);
  }) as Redis["sendCommand"];
  return () => n;
}

/** Counts socket writes (each a syscall: with auto-pipelining, about one per event-loop turn that sent commands). */
function countWrites(redis: Redis): () => number {
  let n = 0;
  const wrap = () => {
    const stream = (redis as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    stream.write = (...a: unknown[]) => {
      n++;
      return write(...a);
    };
  };
  if (redis.status === "ready") wrap();
  else redis.once("ready", wrap);
  return () => n;
}

const userFor = (i: number) => (i % 10 === 9 ? `new${i}` : `u${(i * 7919) % USERS}`);

async function sequential(deps: RankingDeps, count: number, offset: number) {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    await rankForUser(deps, { userId: userFor(offset + i), n: 10, categories: [], exclude: [] });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const mean = times.reduce((s, x) => s + x, 0) / times.length;
  times.sort((a, b) => a - b);
  return { mean, p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function throughput(deps: RankingDeps, inFlight: number, ms: number) {
  let done = 0;
  let next = 0;
  const until = Date.now() + ms;
  const cpu = process.cpuUsage();
  const start = Date.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < until) {
        await rankForUser(deps, { userId: userFor(next++), n: 10, categories: [], exclude: [] });
        done++;
      }
    }),
  );
  const elapsed = (Date.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    req_per_s: Math.round(done / elapsed),
    cpu_ms_per_request: (used.user + used.system) / 1000 / done,
  };
}

/** k6 (its own process, spawned asynchronously so this event loop keeps serving) against the router in-process. */
async function underK6(deps: RankingDeps, rate: number) {
  const server = await serveForTest([
    servingRouter({
      ...deps,
      keys: new ApiKeys({ read: [TEST_KEYS.read], write: [], admin: [] }),
    }),
  ]);
  try {
    const summary = path.join(os.tmpdir(), `reckon-micro-k6-${process.pid}.json`);
    // MICRO_PROFILE=FILE: a V8 CPU profile of this window only (seeding and warm-up left out); summarise it
    // with `npx tsx bench/serving-profile.ts FILE`.
    const profiler = process.env.MICRO_PROFILE ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post("Profiler.enable");
      await profiler.post("Profiler.setSamplingInterval", { interval: 100 });
      await profiler.post("Profiler.start");
    }
    // Server-side latency (request parsed → response finished), to tell this process's own delays from
    // queueing in the kernel and k6 (the difference to k6's figures).
    const serverSide: number[] = [];
    server.server.prependListener("request", (_req, res) => {
      const t = process.hrtime.bigint();
      res.once("finish", () => serverSide.push(Number(process.hrtime.bigint() - t) / 1e6));
    });
    const cpu = process.cpuUsage();
    // Event-loop delay: a stall here delays every request in flight, which is what a latency tail is made of.
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        k6Path(),
        [
          "run",
          "--quiet",
          "--no-color",
          "--summary-export",
          summary,
          path.join(REPO_ROOT, "loadtests/serving.js"),
        ],
        {
          env: {
            ...process.env,
            BASE_URL: server.base,
            READ_KEY: TEST_KEYS.read,
            TARGET: process.env.MICRO_TARGET ?? "recs",
            RATE: String(rate),
            DURATION: "10s",
            USERS: String(USERS),
          },
          stdio: ["ignore", "ignore", "inherit"],
        },
      );
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`k6 exited with ${code}`))));
    });
    const used = process.cpuUsage(cpu);
    loopDelay.disable();
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(process.env.MICRO_PROFILE!, JSON.stringify(profile));
      profiler.disconnect();
    }
    const m = JSON.parse(readFileSync(summary, "utf8")) as {
      metrics: Record<string, Record<string, number>>;
    };
    const d = m.metrics.http_req_duration!;
    const count = m.metrics.http_reqs!.count!;
    return {
      rate,
      requests: count,
      p50_ms: d.med,
      p99_ms: d["p(99)"],
      p999_ms: d["p(99.9)"],
      server_side_ms: (() => {
        serverSide.sort((a, b) => a - b);
        return { p50: percentile(serverSide, 50), p99: percentile(serverSide, 99), max: serverSide.at(-1) };
      })(),
      cpu_ms_per_request: (used.user + used.system) / 1000 / count,
      // Kernel time is mostly socket syscalls (HTTP and Redis): what fewer round trips and writes save.
      cpu_ms_per_request_system: used.system / 1000 / count,
      event_loop_delay_ms: {
        p50: loopDelay.percentile(50) / 1e6,
        p99: loopDelay.percentile(99) / 1e6,
        max: loopDelay.max / 1e6,
      },
    };
  } finally {
    await server.close();
  }
}

export async function runServingInProcess() {
  const env = stackEnv();
  const db = await createTestDatabase();
  const seedRedis = new Redis(env.REDIS_URL);
  let prefix = uniqueName("rkmicro");
  const proxy = await delayingProxy(new URL(env.REDIS_URL), DELAY_MS);
  const clients: Redis[] = [];
  // MICRO_REUSE=FILE: keep the seeded data and reuse it on the next run (profiling loops); delete the keys by hand.
  const reuse = process.env.MICRO_REUSE;
  const saved =
    reuse && existsSync(reuse)
      ? (JSON.parse(readFileSync(reuse, "utf8")) as {
          prefix: string;
          version: number;
          av: number;
          onnx: string;
        })
      : undefined;
  if (saved) prefix = saved.prefix;
  try {
    let ranker: Ranker;
    if (saved) {
      ranker = await loadRanker(saved.version, Buffer.from(saved.onnx, "base64"), saved.av);
    } else {
      const { trained } = await seedServingBench(db, seedRedis, prefix);
      const stored = await loadModel(db.db, trained.version);
      ranker = await loadRanker(trained.version, stored!.onnx, stored!.artifact_version);
      if (reuse)
        writeFileSync(
          reuse,
          JSON.stringify({
            prefix,
            version: trained.version,
            av: stored!.artifact_version,
            onnx: Buffer.from(stored!.onnx).toString("base64"),
          }),
        );
    }

    const direct = openRedis(env.REDIS_URL);
    const delayed = openRedis(proxy.url);
    clients.push(direct, delayed);
    const commands = countCommands(direct);
    const writes = countWrites(direct);
    const fast = servingDeps(direct, prefix, ranker);
    const slow = servingDeps(delayed, prefix, ranker);

    await sequential(fast, USERS, 0); // warm-up: JIT, artifact cache, catalog and trending caches
    if (!process.env.MICRO_NO_DELAY) await sequential(slow, 500, 0);
    if (process.env.MICRO_HTTP_ONLY)
      return { http: await underK6(fast, Number(process.env.MICRO_HTTP_RATE ?? 250)) };
    const before = commands();
    const writesBefore = writes();
    const measured = 2000;
    const d = await sequential(fast, measured, 7);
    const commandsPerRequest = (commands() - before) / measured;
    const writesPerRequest = (writes() - writesBefore) / measured;
    const s = process.env.MICRO_NO_DELAY ? d : await sequential(slow, 300, 7);
    const tp = await throughput(fast, 32, 3000);
    // MICRO_HTTP_RATE=N: also serve the router in this process (profile it with --cpu-prof) under k6 at N req/s.
    const httpRate = Number(process.env.MICRO_HTTP_RATE ?? 0);
    const http = httpRate > 0 ? await underK6(fast, httpRate) : undefined;
    return {
      bench: "serving-inprocess",
      sequential_ms: { mean: d.mean, p50: d.p50, p99: d.p99 },
      redis_commands_per_request: commandsPerRequest,
      redis_socket_writes_per_request: writesPerRequest,
      serial_redis_round_trips_per_request: (s.mean - d.mean) / DELAY_MS,
      delayed_mean_ms: s.mean,
      throughput_32_in_flight: tp,
      ...(http ? { http } : {}),
    };
  } finally {
    for (const c of clients) c.disconnect();
    proxy.close();
    if (!reuse) {
      const keys = await seedRedis.keys(`${prefix}:*`);
      for (let i = 0; i < keys.length; i += 1000) await seedRedis.del(...keys.slice(i, i + 1000));
    }
    seedRedis.disconnect();
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResultAndExit(runServingInProcess());
}
