import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, stackEnv, type TestDatabase } from "../../core/testing/stack.ts";
import {
  checkEveryStore,
  createPlatform,
  driveLoad,
  readStatus,
  startPrivateRedis,
  waitUntil,
  type PrivateRedis,
} from "../../core/testing/faults.ts";

/**
 * The whole platform process is killed with SIGKILL under load and started again (what `npm start` does): its
 * HTTP API answers again before the dead process's consumer group members time out, the load's unacknowledged
 * batches are resent, and every acknowledged event ends up in every store once.
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
  const platform = await createPlatform({
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
  });
  await platform.start();
  try {
    const load = driveLoad({ url: platform.url, ratePerSecond: 300, seconds: 8 });
    await waitUntil("the projections to apply the first events", async () =>
      (await readStatus(platform.url)).projectors.every((p) => p.position !== "0.0"),
    );
    await new Promise((r) => setTimeout(r, 1000));
    await platform.kill("SIGKILL");
    await platform.start();
    const { acked, retries } = await load.done;
    assert.ok(retries > 0, "some batches were refused while the platform was down, and sent again");
    assert.ok(acked.size > 1000, `load acknowledged ${acked.size} events`);
    assert.deepEqual(await checkEveryStore(platform, acked), []);
  } finally {
    await platform.kill("SIGKILL");
  }
});
