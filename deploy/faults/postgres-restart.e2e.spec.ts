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

/** Postgres (a private cluster) restarts under load: a clean shutdown and start, as an upgrade would do. */
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

test("a Postgres restart under load loses nothing acknowledged", async () => {
  const result = await runFaultScenario({
    stores: {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    },
    async fault() {
      await postgres.stop("fast");
      await postgres.start();
    },
  });
  assert.ok(result.acked > 1000, `load acknowledged ${result.acked} events`);
  assert.deepEqual(result.problems, []);
});
