import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { stackEnv } from "../../core/testing/stack.ts";
import {
  runFaultScenario,
  startPrivatePostgres,
  startPrivateRedis,
  type PrivatePostgres,
  type PrivateRedis,
} from "../../core/testing/faults.ts";

/**
 * Postgres (a private cluster) crashes under load and stays down for 5 s: nothing is acknowledged while it is
 * down (ingest answers an error, the client resends), and everything acknowledged before and after is kept.
 */
let postgres: PrivatePostgres;
let redis: PrivateRedis;

before(async () => {
  postgres = await startPrivatePostgres();
  redis = await startPrivateRedis();
});

after(async () => {
  await redis?.destroy();
  await postgres?.destroy();
});

test("a 5 s Postgres outage under load loses nothing acknowledged", async () => {
  const result = await runFaultScenario({
    stores: {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    },
    async fault() {
      await postgres.stop("immediate");
      await new Promise((r) => setTimeout(r, 5000));
      await postgres.start();
    },
  });
  assert.ok(result.retries > 0, "batches sent during the outage were refused and sent again");
  assert.ok(result.acked > 1000, `load acknowledged ${result.acked} events`);
  assert.deepEqual(result.problems, []);
});
