import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, stackEnv, type TestDatabase } from "../../core/testing/stack.ts";
import { runFaultScenario, startPrivateRedis, type PrivateRedis } from "../../core/testing/faults.ts";

/**
 * The whole platform process is killed with SIGKILL under load and started again (what `npm start` does): the
 * load's unacknowledged batches are resent, and every acknowledged event ends up in every store once.
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

test("SIGKILL of the platform under load loses nothing acknowledged", async () => {
  const result = await runFaultScenario({
    stores: { DATABASE_URL: db.url, REDIS_URL: redis.url, KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(",") },
    async fault(platform) {
      await platform.kill("SIGKILL");
      await platform.start();
    },
  });
  assert.ok(result.retries > 0, "some batches were refused while the platform was down, and sent again");
  assert.ok(result.acked > 1000, `load acknowledged ${result.acked} events`);
  assert.deepEqual(result.problems, []);
});
