import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import type { Kafka } from "kafkajs";
import { createKafka } from "../../core/kafka/kafka.ts";
import { openRedisClient, type RedisClient } from "../../core/redis/redis.ts";
import { TEST_KEYS } from "../../core/testing/http.ts";
import { ChdbClickHouseStore } from "../../core/clickhouse/chdb-adapter.ts";
import { consumerGroup } from "../../projectors/runtime/consumer.ts";
import { replayProjection } from "../../projectors/runtime/replay.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { closeRedis, dumpVersion } from "../../projectors/runtime/testing.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { DEFAULT_KEY_PREFIX } from "../../core/read-models/keys.ts";
import { REDIS_PROJECTIONS, REDIS_PROJECTION_VARIABLES } from "../../projectors/role.ts";
import { defaultsOf } from "../../core/config/env.ts";
import {
  createNetwork,
  ensureIproute2,
  removeLeftovers,
  removeNetwork,
  runDirectory,
  type Network,
} from "./network.ts";
import { startStores, type StoreHost } from "./stores.ts";
import {
  EVENT_PARTITIONS,
  startReckon,
  stopReckon,
  waitReady,
  type ReckonProcess,
  type ReckonProcessSpec,
} from "./reckon-process.ts";
import { describeGroup, committedLag, ownedExactlyBy } from "./consumer-groups.ts";
import { ITEMS, startReader, startWriter, type Reader, type Writer } from "./traffic.ts";
import { failingWindows, longestFailingMs, readsWhileUp } from "./read-windows.ts";
import { waitFor } from "./wait.ts";
import { tail } from "./log-tail.ts";

/** The Redis projections as the hosts run them (defaults), under a key prefix. */
const projectionEnv = (prefix: string) => ({
  ...defaultsOf(REDIS_PROJECTION_VARIABLES),
  RECKON_REDIS_PREFIX: prefix,
});

/**
 * Reckon on four hosts (network namespaces on this machine): A runs ingest, the relay and the analytics
 * projection; B and C each run serving and a projectors process (the same consumer groups); S holds Postgres,
 * Redis and Kafka. Events go in through A while B and C answer recommendations; B is SIGKILLed mid-stream, its
 * partitions move to C, then B comes back. Durations are measured and reported, never asserted.
 */

const TOPIC = "reckon.events.v1";
const REDIS_PROJECTION_NAMES = Object.keys(REDIS_PROJECTIONS);
const GROUPS = REDIS_PROJECTION_NAMES.map((name) => consumerGroup(name));
const ANALYTICS_GROUP = consumerGroup("analytics");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StatusReport {
  head: string;
  projectors: { name: string; position: string; lag: number }[];
}

describe("multi-host run: ingest on A, serving and projectors on B and C, stores on S", () => {
  const started = Date.now();
  const runDir = runDirectory(process.pid.toString(36));
  let network: Network | undefined;
  let stores: StoreHost | undefined;
  let kafka: Kafka;
  let redis: RedisClient | undefined;
  let db: pg.Pool | undefined;
  let writer: Writer | undefined;
  const readers: Record<string, Reader> = {};
  const processes: ReckonProcess[] = [];
  const report: Record<string, unknown> = {};
  /** B's outage as the readers saw it coming: from just before the kill to its answering ready again. */
  const bDown = { from: 0, to: 0 };
  const drain: { reached: boolean; last?: unknown } = { reached: false };
  const assignments: Record<string, Record<string, Record<string, number[]>>> = {};

  const launch = (spec: ReckonProcessSpec) => {
    const p = startReckon(spec, stores!, runDir);
    processes.push(p);
    return p;
  };
  const hostAddress = (label: string) => network!.hosts[label]!.address;
  const hostSpecs = (label: string): ReckonProcessSpec[] => [
    { name: `${label}-serving`, host: network!.hosts[label]!, roles: ["serving"], port: 8080 },
    {
      name: `${label}-projectors`,
      host: network!.hosts[label]!,
      roles: ["projectors"],
      port: 8081,
      env: { RECKON_PROJECTIONS: REDIS_PROJECTION_NAMES.join(",") },
    },
  ];

  async function status(url: string): Promise<StatusReport> {
    const res = await fetch(`${url}/v1/status`, {
      headers: { authorization: `Bearer ${TEST_KEYS.read}` },
      signal: AbortSignal.timeout(5000),
    });
    if (res.status !== 200) throw new Error(`${url}/v1/status answered ${res.status}`);
    return (await res.json()) as StatusReport;
  }

  /** Waits until every group's partitions are owned exactly by the given hosts; returns the assignment. */
  async function waitOwnedBy(labels: string[], timeoutMs: number) {
    const hosts = labels.map(hostAddress);
    const seen: Record<string, Record<string, number[]>> = {};
    const ms = await waitFor(
      `consumer groups owned by ${labels.join("+")}`,
      timeoutMs,
      async () => {
        for (const group of GROUPS) {
          const a = await describeGroup(kafka, group, TOPIC);
          if (!ownedExactlyBy(a, hosts, EVENT_PARTITIONS)) return false;
          seen[group] = a.byHost;
        }
        return true;
      },
      250,
    );
    return { ms, byHost: seen };
  }

  before(async () => {
    if (process.getuid?.() !== 0)
      throw new Error("the multi-host run builds network namespaces: run it as root");
    ensureIproute2();
    const stale = removeLeftovers();
    if (stale.length > 0) report.removedLeftoverRuns = stale;
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    network = createNetwork(["s", "a", "b", "c"]);

    let t = Date.now();
    stores = await startStores(network.hosts.s!, runDir);
    report.storesStartMs = Date.now() - t;
    kafka = createKafka([stores.kafkaBrokers], "multi-host-test");
    redis = openRedisClient(stores.redisUrl);
    db = new pg.Pool({ connectionString: stores.databaseUrl, max: 4 });

    t = Date.now();
    const a = launch({
      name: "a-ingest-relay-analytics",
      host: network.hosts.a!,
      roles: ["ingest", "relay", "projectors"],
      port: 8080,
      env: { RECKON_PROJECTIONS: "analytics", CLICKHOUSE_URL: `chdb://${path.join(runDir, "clickhouse")}` },
    });
    // All five processes start together (migrations take a Postgres advisory lock, so they run once).
    const servingAndProjectors = [...hostSpecs("b"), ...hostSpecs("c")].map(launch);
    await waitReady(a);
    // A catalog, so features carry category affinities and recommendations have items to rank.
    for (const [i, item] of ITEMS.entries()) {
      const res = await fetch(`${a.url}/v1/items/${item}`, {
        method: "PUT",
        headers: { "content-type": "application/json", authorization: `Bearer ${TEST_KEYS.write}` },
        body: JSON.stringify({ categories: [`cat-${i % 4}`] }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status < 300, true, `PUT /v1/items/${item} answered ${res.status}`);
    }
    await Promise.all(servingAndProjectors.map((p) => waitReady(p)));
    report.reckonStartMs = Date.now() - t;
    assignments.initial = (await waitOwnedBy(["b", "c"], 60_000)).byHost;

    // Traffic: events through A, reads from B and C.
    const [bServing, , cServing] = servingAndProjectors;
    writer = startWriter(a.url);
    readers.b = startReader(bServing!.url);
    readers.c = startReader(cServing!.url);
    const trafficStarted = Date.now();
    await sleep(5000);

    // B dies without a word: SIGKILL to its serving and projectors processes.
    bDown.from = Date.now();
    const bProcesses = processes.filter((p) => p.spec.host.label === "b");
    await Promise.all(bProcesses.map((p) => stopReckon(p, "SIGKILL")));
    const moved = await waitOwnedBy(["c"], 90_000);
    report.rebalanceAfterKillMs = Date.now() - bDown.from;
    assignments.afterKill = moved.byHost;
    await sleep(3000);

    // B comes back.
    const restartedAt = Date.now();
    const bAgain = hostSpecs("b").map(launch);
    await Promise.all(bAgain.map((p) => waitReady(p)));
    bDown.to = Date.now();
    report.bRestartReadyMs = bDown.to - restartedAt;
    const back = await waitOwnedBy(["b", "c"], 90_000);
    report.rebalanceAfterReturnMs = Date.now() - restartedAt;
    assignments.afterReturn = back.byHost;
    await sleep(3000);
    // Reads are writes too: every served list is appended to the log (online evaluation), so the log's head
    // only stops moving once the readers stop as well as the writer.
    await writer.stop();
    await Promise.all(Object.values(readers).map((r) => r.stop()));
    report.trafficMs = Date.now() - trafficStarted;

    // Drained: every projector reports lag 0 at the log head, and every group committed the topic's end.
    t = Date.now();
    // The projectors processes alive now: A's (analytics), C's, and B's second life.
    const projectorUrls = [a.url, servingAndProjectors[3]!.url, bAgain[1]!.url];
    const caughtUp = async () => {
      const reports = await Promise.all(projectorUrls.map((url) => status(url)));
      const lags: Record<string, number[]> = {};
      for (const group of [...GROUPS, ANALYTICS_GROUP]) lags[group] = await committedLag(kafka, group, TOPIC);
      drain.last = { status: reports, committedLag: lags };
      return (
        reports.every((s) => s.projectors.every((p) => p.lag === 0 && p.position === s.head)) &&
        Object.values(lags).every((l) => l.every((lag) => lag === 0))
      );
    };
    // Not thrown here: the lag test reports what was still behind.
    drain.reached = await waitFor("every projection to reach the head of the log", 120_000, () =>
      caughtUp().catch(() => false),
    ).then(
      () => true,
      () => false,
    );
    report.drainAfterWritesMs = Date.now() - t;
  });

  after(async () => {
    await writer?.stop().catch(() => undefined);
    await Promise.all(Object.values(readers).map((r) => r.stop().catch(() => undefined)));
    const failed = processes.filter((p) => p.child.exitCode !== null && p.child.exitCode !== 0);
    for (const p of failed)
      console.error(`--- ${p.spec.name} exited ${p.child.exitCode}:\n${tail(p.logFile)}`);
    await Promise.all(processes.map((p) => stopReckon(p, "SIGKILL").catch(() => undefined)));
    if (redis) await closeRedis(redis);
    await db?.end().catch(() => undefined);
    stores?.stop();
    if (network) removeNetwork(network.runId);
    rmSync(runDir, { recursive: true, force: true });
    report.totalMs = Date.now() - started;
    console.log(`multi-host report: ${JSON.stringify({ ...report, assignments })}`);
  });

  test("B's partitions moved to C when B died, and were shared again when it came back", () => {
    const [b, c] = [hostAddress("b"), hostAddress("c")];
    for (const group of GROUPS) {
      assert.deepEqual(Object.keys(assignments.initial![group]!).sort(), [b, c].sort());
      assert.deepEqual(assignments.afterKill![group], {
        [c]: Array.from({ length: EVENT_PARTITIONS }, (_, i) => i),
      });
      assert.deepEqual(Object.keys(assignments.afterReturn![group]!).sort(), [b, c].sort());
    }
  });

  test("lag back to zero: every projection at the log's head, every group committed the topic's end", () => {
    assert.ok(drain.reached, `still behind: ${JSON.stringify(drain.last)}`);
    const last = drain.last as { status: StatusReport[] };
    assert.deepEqual(
      last.status.flatMap((s) => s.projectors.map((p) => p.name)).sort(),
      ["analytics", ...REDIS_PROJECTION_NAMES, ...REDIS_PROJECTION_NAMES].sort(),
      "A reports analytics, B and C each report the Redis projections",
    );
  });

  test("every acknowledged event is in the log exactly once", async () => {
    const acked = [...writer!.acknowledged];
    report.acknowledgedEvents = acked.length;
    report.unacknowledgedRequests = writer!.unacknowledgedRequests;
    assert.ok(acked.length > 100, `the writer got acknowledgements (${acked.length})`);
    const { rows } = await db!.query<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE event_id = ANY($1::uuid[])",
      [acked],
    );
    assert.equal(Number(rows[0]!.n), acked.length);
  });

  test("the features projection's counts (per user and per item) equal the log's", async () => {
    const reader = new FeaturesReader(redis!, DEFAULT_KEY_PREFIX);
    const { rows } = await db!.query<{ user_id: string; item_id: string; type: string; n: string }>(
      `SELECT user_id, item_id, type, count(*) AS n FROM events WHERE kind = 'interaction'
       GROUP BY GROUPING SETS ((user_id, type), (item_id, type))`,
    );
    const expectedUsers: Record<string, Record<string, number>> = {};
    const expectedItems: Record<string, Record<string, number>> = {};
    for (const r of rows) {
      const target =
        r.user_id !== null ? (expectedUsers[r.user_id] ??= {}) : (expectedItems[r.item_id] ??= {});
      target[r.type] = Number(r.n);
    }
    const actualUsers: typeof expectedUsers = {};
    for (const user of Object.keys(expectedUsers))
      actualUsers[user] = (await reader.getUserFeatures(user)).counts;
    const actualItems: typeof expectedItems = {};
    for (const item of Object.keys(expectedItems))
      actualItems[item] = (await reader.getItemPopularity(item)).counts;
    assert.deepEqual(actualUsers, expectedUsers);
    assert.deepEqual(actualItems, expectedItems);
  });

  test("a rebuild of each Redis projection from the log equals the live read model", async (t) => {
    // A replay takes the projection's versions lock in a transaction (projectors/runtime/version-lock.ts).
    const log = openDatabase(stores!.databaseUrl);
    t.after(() => log.close());
    for (const name of REDIS_PROJECTION_NAMES) {
      const live = REDIS_PROJECTIONS[name]!(redis!, projectionEnv(DEFAULT_KEY_PREFIX));
      const rebuilt = REDIS_PROJECTIONS[name]!(redis!, projectionEnv(`mhrebuild${process.pid}`));
      const result = await replayProjection({
        db: log,
        projection: rebuilt,
        topic: TOPIC,
        partitions: EVENT_PARTITIONS,
      });
      const state = async (prefix: string, version: number) => {
        const dump = await dumpVersion(redis!, prefix, live.ns, version);
        delete dump.applied;
        return dump;
      };
      const liveState = await state(
        DEFAULT_KEY_PREFIX,
        await live.store.currentVersion(DEFAULT_KEY_PREFIX, name),
      );
      assert.ok(Object.keys(liveState).length > 10, `${name}: the live read model has state`);
      assert.deepEqual(
        liveState,
        await state(rebuilt.prefix, result.version),
        `${name}: live equals rebuilt`,
      );
    }
  });

  test("reads never failed on a host that was up; B's outage is the only failing window", () => {
    const upB = readsWhileUp(readers.b!.samples, [bDown]);
    const c = readers.c!.samples;
    report.reads = {
      b: {
        total: readers.b!.samples.length,
        whileUp: upB.length,
        longestFailingMs: longestFailingMs(readers.b!.samples),
      },
      c: { total: c.length, longestFailingMs: longestFailingMs(c) },
      bOutageMs: bDown.to - bDown.from,
    };
    assert.ok(upB.length > 10 && c.length > 10, "both readers ran");
    assert.deepEqual(failingWindows(c), [], "C answered every read");
    assert.deepEqual(failingWindows(upB), [], "B answered every read while it was up");
  });

  test("the analytics projection (ClickHouse) holds every logged interaction exactly once", async () => {
    // A's process owns the in-process ClickHouse: stop it (gracefully, so its last writes land), then read.
    const a = processes.find((p) => p.spec.host.label === "a")!;
    await stopReckon(a, "SIGTERM");
    const { rows } = await db!.query<{ id: string }>(
      "SELECT event_id::text AS id FROM events WHERE kind = 'interaction'",
    );
    const ch = await ChdbClickHouseStore.open({ dataDir: path.join(runDir, "clickhouse") });
    try {
      const ids = await ch.query<{ id: string }>("SELECT toString(event_id) AS id FROM reckon.events FINAL");
      const [stored] = await ch.query<{ n: string }>("SELECT count() AS n FROM reckon.events");
      report.clickhouseRows = { final: ids.length, stored: Number(stored!.n) };
      assert.deepEqual(ids.map((r) => r.id).sort(), rows.map((r) => r.id).sort());
    } finally {
      await ch.close();
    }
  });
});
