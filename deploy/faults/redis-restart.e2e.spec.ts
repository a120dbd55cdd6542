import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, stackEnv, type TestDatabase } from "../../core/testing/stack.ts";
import {
  readStatus,
  runFaultScenario,
  startPrivateRedis,
  type PrivateRedis,
} from "../../core/testing/faults.ts";

/**
 * The read models' Redis loses state under load, twice: a FLUSHALL (everything gone, positions missing), then a
 * SIGKILL and restart from its append-only file (up to the last second lost, positions older than committed).
 * The projections notice, say so in /v1/status and the logs (readiness: runtime/state-loss.unit.spec.ts), and
 * rebuild themselves from the log.
 */
let db: TestDatabase;
let redis: PrivateRedis;

before(async () => {
  db = await createTestDatabase();
  redis = await startPrivateRedis();
});

after(async () => {
  await redis?.destroy();
  await db?.drop();
});

test("a Redis flushed and then killed under load is noticed and rebuilt: every count equals Postgres", async () => {
  const result = await runFaultScenario({
    stores: { DATABASE_URL: db.url, REDIS_URL: redis.url, KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(",") },
    async fault() {
      await redis.flushAll();
      await new Promise((r) => setTimeout(r, 2500));
      await redis.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 500));
      await redis.start();
    },
    async inspect(platform) {
      const status = await readStatus(platform.url);
      for (const name of ["features", "recommendations"]) {
        const readModel = status.projectors.find((p) => p.name === name)?.read_model;
        assert.ok(
          readModel && readModel.rebuilds >= 1,
          `${name} reported its loss and rebuilt: ${JSON.stringify(readModel)}\n${platform.output().slice(-3000)}`,
        );
      }
    },
  });
  assert.ok(result.acked > 1000, `load acknowledged ${result.acked} events`);
  assert.match(result.output, /read model lost state/, "the loss is logged");
  assert.deepEqual(result.problems, []);
});
