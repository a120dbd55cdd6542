import { after, test } from "node:test";
import assert from "node:assert/strict";
import { loadEnv } from "../core/config/env.ts";
import { openRedisClient } from "../core/redis/redis.ts";
import { stackEnv, uniqueName } from "../core/testing/stack.ts";
import { deleteMatching, keysMatching } from "../serving/ranking/testing.ts";
import { REDIS_PROJECTIONS } from "./role.ts";
import { interaction } from "./runtime/testing.ts";

/**
 * The Redis projections the role runs take their tunables from the configuration they are given (not from the
 * process environment when a module loads): with RECKON_USER_TTL_DAYS=2, every user key of both projections,
 * under the configured RECKON_REDIS_PREFIX, expires within two days.
 */
const redis = openRedisClient(stackEnv().REDIS_URL);
const prefix = uniqueName("rkcfg");
after(async () => {
  await deleteMatching(redis, `${prefix}:*`);
  redis.disconnect();
});

test("both Redis projections expire user keys after the configured RECKON_USER_TTL_DAYS, under the configured prefix", async () => {
  const env = loadEnv({
    DATABASE_URL: stackEnv().DATABASE_URL,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    RECKON_REDIS_PREFIX: prefix,
    RECKON_USER_TTL_DAYS: "2",
  });
  const twoDaysMs = 2 * 86_400_000;
  for (const [name, create] of Object.entries(REDIS_PROJECTIONS)) {
    const projection = create(redis, env);
    await projection.applyMessages([interaction("u1", "i1", "view", new Date().toISOString())], "test");
    const userKeys = (await keysMatching(redis, `${prefix}:${projection.ns}:*`)).filter((k) =>
      k.includes("{u:u1}"),
    );
    assert.ok(userKeys.length > 0, `${name} wrote user keys under ${prefix}`);
    const ttls = await Promise.all(userKeys.map((k) => redis.pttl(k)));
    for (const [i, ttl] of ttls.entries())
      assert.ok(ttl > 0 && ttl <= twoDaysMs, `${name} ${userKeys[i]} expires in ${ttl} ms`);
    assert.ok(
      Math.max(...ttls) > twoDaysMs / 2,
      `${name}: the user TTL itself is two days (${Math.max(...ttls)} ms)`,
    );
  }
});
