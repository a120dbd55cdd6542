import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import {
  runFaultScenario,
  startPrivateKafka,
  startPrivateRedis,
  type PrivateKafka,
  type PrivateRedis,
} from "../../core/testing/faults.ts";

/**
 * Kafka (a private single-node KRaft broker) is killed and restarted under load: ingest keeps acknowledging (Postgres is the log),
 * the relay and the projectors reconnect and catch up.
 */
let db: TestDatabase;
let kafka: PrivateKafka;
let redis: PrivateRedis;

before(async () => {
  db = await createTestDatabase();
  redis = await startPrivateRedis();
  kafka = await startPrivateKafka();
});

after(async () => {
  await kafka?.destroy();
  await redis?.destroy();
  await db?.drop();
});

test("a Kafka restart under load loses nothing acknowledged", async () => {
  const result = await runFaultScenario({
    stores: { DATABASE_URL: db.url, REDIS_URL: redis.url, KAFKA_BROKERS: kafka.brokers },
    async fault() {
      // A crash rather than a controlled shutdown: harsher, and it spares the suite the broker's shutdown wait.
      await kafka.kill("SIGKILL");
      await kafka.start();
    },
  });
  assert.ok(result.acked > 1000, `load acknowledged ${result.acked} events`);
  assert.deepEqual(result.problems, []);
});
