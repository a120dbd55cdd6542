import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { createKafka, ensureTopics } from "../../core/kafka/kafka.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { REPO_ROOT } from "../../core/runtime/local-env.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { Relay } from "../../ingest/relay/relay.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { formatPositionToken } from "../../core/contracts/position.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { FeaturesReader } from "../features/read.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { PositionTokenError, ProjectionStatus } from "../status/status.ts";
import { statusRouter } from "../status/router.ts";
import { ProjectorRuntime } from "./consumer.ts";
import { deleteKeys, replayProjection } from "./replay.ts";
import { closeRedis, dumpVersion, REDIS_BACKENDS } from "./testing.ts";
import type { RedisProjection } from "./redis-projection.ts";

// Runs on both backends. Its cluster suite once left an uncaught ioredis "results[i] is not iterable" behind
// (auto-pipelined Lua commands, redis/ioredis#1931); every script is now defined through defineScript
// (core/redis/redis.ts), which keeps it out of auto-pipelining.
for (const backend of REDIS_BACKENDS) {
  describe(backend.name, () => {
    const env = stackEnv();
    const kafka = createKafka(env.KAFKA_BROKERS, "projectors-test");
    const redis = backend.open();
    const topic = uniqueName("test.events");
    const dlqTopic = uniqueName("test.dlq");
    const PARTITIONS = 3;
    const prefixes: string[] = [];
    let t: TestDatabase;
    let relay: Relay;

    interface Live {
      prefix: string;
      groupPrefix: string;
      features: RedisProjection;
      recommendations: RedisProjection;
      runtime: ProjectorRuntime;
      status: ProjectionStatus;
    }

    function projectionsFor(prefix: string) {
      return {
        features: createFeaturesProjection(redis, { prefix }),
        recommendations: createRecommendationsProjection(redis, { prefix }),
      };
    }

    async function startLive(): Promise<Live> {
      const prefix = uniqueName("rktest");
      const groupPrefix = `${uniqueName("test.projector")}.`;
      prefixes.push(prefix);
      const { features, recommendations } = projectionsFor(prefix);
      const projections = [features, recommendations];
      const runtime = new ProjectorRuntime({
        kafka,
        topic,
        dlqTopic,
        partitions: PARTITIONS,
        projections,
        groupPrefix,
      });
      await runtime.start();
      const status = new ProjectionStatus({ db: t.db, kafka, topic, projections, groupPrefix });
      return { prefix, groupPrefix, features, recommendations, runtime, status };
    }

    let reference: Live;

    before(async () => {
      t = await createTestDatabase();
      await ensureTopics(kafka, [
        { topic, partitions: PARTITIONS },
        { topic: dlqTopic, partitions: PARTITIONS },
      ]);
      relay = new Relay({ db: t.db, kafka, topic, partitions: PARTITIONS, name: `relay:${topic}` });
      await relay.start();
      reference = await startLive();
      // Catalog first, and projected before any interaction, so category effects do not depend on timing.
      const { head } = await writeItems(
        t.db,
        Array.from({ length: 20 }, (_, i) => ({
          item_id: `i${i}`,
          categories: [`c${i % 4}`, ...(i % 3 === 0 ? ["special"] : [])],
          attributes: {},
          available: true,
        })),
        new Date(),
      );
      const waited = await reference.status.waitForPosition(["features"], formatPositionToken(head!), 5000);
      assert.ok(
        waited.reached ||
          (await reference.status.waitForPosition(["features"], formatPositionToken(head!))).reached,
      );
    });

    after(async () => {
      await reference.runtime.stop();
      await reference.status.close();
      await relay.stop();
      for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
      await closeRedis(redis);
      await t.drop();
    });

    const event = (user: string, item: number, type = "view"): InteractionEvent => ({
      event_id: randomUUID(),
      type,
      user_id: user,
      item_id: `i${item}`,
      timestamp: new Date(Date.now() - Math.floor(Math.random() * 600_000)).toISOString(),
    });

    async function writeEvents(batches: number, size: number, pauseMs = 0): Promise<string> {
      let token = "";
      for (let b = 0; b < batches; b++) {
        const types = ["view", "click", "purchase", "add_to_cart"];
        const events = Array.from({ length: size }, (_, j) =>
          event(`user-${(b * 7 + j) % 37}`, (b * 13 + j * 5) % 20, types[j % 4]),
        );
        const { head } = await appendInteractionEvents(t.db, events);
        token = formatPositionToken(head!);
        if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
      }
      return token;
    }

    async function waitAll(status: ProjectionStatus, token: string, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await status.waitForPosition(["features", "recommendations"], token, 5000)).reached) {
        if (Date.now() > deadline) throw new Error(`projections did not reach ${token}`);
      }
    }

    /** A version's state without its applied-positions bookkeeping (which differs between a rebuild and a live run). */
    async function state(p: RedisProjection, version: number) {
      const dump = await dumpVersion(redis, p.prefix, p.ns, version);
      delete dump.applied;
      return dump;
    }

    describe("projector runtime on Kafka", () => {
      test("a poison message lands in the dead-letter topic and the next good message is projected", async () => {
        const producer = kafka.producer();
        await producer.connect();
        await producer.send({
          topic,
          messages: [
            { key: "poison-user", value: "{not json" },
            { key: "poison-user", value: JSON.stringify({ kind: "interaction", position: 1 }) },
          ],
        });
        await producer.disconnect();
        const good = event("poison-user", 3);
        const { head } = await appendInteractionEvents(t.db, [good]);
        await waitAll(reference.status, formatPositionToken(head!));
        assert.deepEqual(await new FeaturesReader(redis, reference.prefix).getRecentItems("poison-user"), [
          "i3",
        ]);

        const seen: Record<string, string>[] = [];
        const consumer = kafka.consumer({ groupId: uniqueName("test-dlq-reader"), maxWaitTimeInMs: 100 });
        await consumer.connect();
        await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(
              Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
            );
          },
        });
        const deadline = Date.now() + 30_000;
        while (seen.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        await consumer.disconnect();
        // Each projector dead-letters both records once.
        assert.equal(seen.length, 4);
        const features = seen.filter((h) => h["reckon-dlq-projector"] === "features");
        assert.equal(features.length, 2);
        assert.match(features[0]!["reckon-dlq-reason"]!, /^not JSON/);
        assert.match(features[1]!["reckon-dlq-reason"]!, /^not a LogMessage: /);
        assert.equal(features[0]!["reckon-dlq-source-topic"], topic);
        assert.ok(
          Number(features[1]!["reckon-dlq-source-offset"]) > Number(features[0]!["reckon-dlq-source-offset"]),
        );
      });

      test("status reports head, position and lag; min_position waits until projected", async () => {
        const token = await writeEvents(5, 40);
        const waited = await reference.status.waitForPosition(["features", "recommendations"], token, 5000);
        assert.equal(waited.reached, true);
        const report = await reference.status.status();
        assert.equal(report.head, token);
        assert.deepEqual(report.projectors, [
          { name: "features", position: token, lag: 0 },
          { name: "recommendations", position: token, lag: 0 },
        ]);
        await assert.rejects(reference.status.waitForPosition(["features"], "nope", 100), PositionTokenError);

        const server = await serveForTest([
          statusRouter(reference.status, new ApiKeys({ read: [TEST_KEYS.read], write: [], admin: [] })),
        ]);
        try {
          const res = await server.call("GET", "/v1/status", { scope: "read" });
          assert.equal(res.status, 200);
          assert.deepEqual(res.body, report);
          assert.equal((await server.call("GET", "/v1/status", { scope: "none" })).status, 401);
        } finally {
          await server.close();
        }
      });

      test("a rebuild from the log, run while the live consumer keeps going, equals the live read model", async () => {
        const rebuilt = await startLive();
        await waitAll(rebuilt.status, await writeEvents(10, 50));
        let writing = true;
        const writer = (async () => {
          let token = "";
          while (writing) token = await writeEvents(1, 20, 5);
          return token;
        })();
        const results = [];
        for (const p of [rebuilt.features, rebuilt.recommendations]) {
          results.push(
            await replayProjection({
              db: t.db,
              projection: p,
              topic,
              partitions: PARTITIONS,
              batchSize: 300,
            }),
          );
        }
        writing = false;
        const last = await writer;
        await waitAll(rebuilt.status, last);
        await waitAll(reference.status, last);
        await rebuilt.runtime.stop();
        await rebuilt.status.close();
        for (const r of results) {
          assert.equal(r.version, 2);
          assert.ok(r.deletedKeys > 0);
        }
        assert.deepEqual(await state(rebuilt.features, 2), await state(reference.features, 1));
        assert.deepEqual(await state(rebuilt.recommendations, 2), await state(reference.recommendations, 1));
        assert.deepEqual(await dumpVersion(redis, rebuilt.prefix, "f", 1), {}, "old version deleted");
      });

      test("a projector killed with SIGKILL mid-stream and restarted ends in the state of an uninterrupted run", async () => {
        const prefix = uniqueName("rktest");
        prefixes.push(prefix);
        const groupPrefix = `${uniqueName("test.projector")}.`;
        const childEnv = {
          ...process.env,
          DATABASE_URL: t.url,
          KAFKA_BROKERS: env.KAFKA_BROKERS.join(","),
          REDIS_URL: backend.url(),
          KAFKA_EVENTS_TOPIC: topic,
          KAFKA_DLQ_TOPIC: dlqTopic,
          KAFKA_PARTITIONS: String(PARTITIONS),
          RECKON_REDIS_PREFIX: prefix,
          // The child's analytics projection gets its own in-process ClickHouse data directory.
          CLICKHOUSE_URL: `chdb://${path.join(os.tmpdir(), `reckon-ch-${prefix}`)}`,
          RECKON_PROJECTOR_GROUP_PREFIX: groupPrefix,
          PORT: "0",
          HOST: "127.0.0.1",
          LOG_LEVEL: "warn",
        };
        const start = () =>
          spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "projectors"], {
            env: childEnv,
            stdio: "ignore",
          });
        const { features, recommendations } = projectionsFor(prefix);
        const status = new ProjectionStatus({
          db: t.db,
          kafka,
          topic,
          projections: [features, recommendations],
          groupPrefix,
        });
        let writing = true;
        const writer = (async () => {
          let token = "";
          while (writing) token = await writeEvents(1, 50, 2);
          return token;
        })();
        let child: ChildProcess = start();
        try {
          // Kill once it has applied something but is still consuming.
          const deadline = Date.now() + 60_000;
          const appliedAny = async () =>
            (await Promise.all([0, 1, 2].map((p) => features.appliedPosition(topic, p)))).some(
              (position) => position !== undefined,
            );
          while (!(await appliedAny())) {
            if (Date.now() > deadline) throw new Error("child projector never applied anything");
            await new Promise((r) => setTimeout(r, 20));
          }
          await new Promise((r) => setTimeout(r, 150));
          child.kill("SIGKILL");
          await new Promise((r) => child.once("exit", r));
          child = start();
          await new Promise((r) => setTimeout(r, 1000));
          writing = false;
          const last = await writer;
          await waitAll(status, last);
          await waitAll(reference.status, last);
          // Category effects (affinities, category trending) included: the relay puts every catalog change on every
          // partition, so this fresh consumer, racing through the backlog, sees each item's categories before the
          // interactions that follow them in the log, as the reference did.
          const killed = await dumpVersion(redis, prefix, "f", 1);
          const uninterrupted = await dumpVersion(redis, reference.prefix, "f", 1);
          assert.ok(
            Object.keys(killed).some((k) => k.includes(":aff:")),
            "affinities were projected",
          );
          assert.deepEqual(killed, uninterrupted);
          assert.deepEqual(
            await dumpVersion(redis, prefix, "r", 1),
            await dumpVersion(redis, reference.prefix, "r", 1),
          );
        } finally {
          writing = false;
          child.kill("SIGTERM");
          await new Promise((r) => child.once("exit", r));
          await status.close();
        }
      });
    });
  });
}
