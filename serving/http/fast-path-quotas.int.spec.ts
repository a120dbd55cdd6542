import { uncachedReadSide } from "../ranking/testing.ts";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { stackEnv, uniqueName } from "../../core/testing/stack.ts";
import { TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { Quotas, UNLIMITED } from "../../core/http/quotas.ts";
import { HEURISTIC_RANKER } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { recommendationsFastPath } from "./fast-path.ts";

/**
 * Quotas on GET /v1/recommendations' node:http fast path, alone on a bare server (a request it left to express
 * would come back 599), with a clock the test moves: the read quota per key and the wrong-key limit per source.
 */
const LEFT_TO_EXPRESS = 599;
const redis = new Redis(stackEnv().REDIS_URL);
const prefix = uniqueName("rkquota");
let clockMs = 0;
let bare: Server;
let base: string;

before(async () => {
  const quotas = new Quotas(
    {
      ...UNLIMITED,
      requestsPerSecond: { read: 2, write: 0, admin: 0 },
      authFailures: { limit: 3, windowSeconds: 30 },
    },
    () => clockMs,
  );
  const fastPath = recommendationsFastPath({
    ...uncachedReadSide(redis, prefix),
    ranker: () => HEURISTIC_RANKER,
    config: { ...servingConfigFromEnv({}), cacheMs: 0, httpFastPath: true },
    keys: new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] }, quotas),
  });
  bare = createServer((req, res) => {
    if (fastPath(req, res)) return;
    res.statusCode = LEFT_TO_EXPRESS;
    res.end();
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => bare?.close(resolve));
  redis.disconnect();
});

async function get(key: string) {
  const res = await fetch(`${base}/v1/recommendations/u1?n=3`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the fields directly
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
}

test("the fast path itself answers 429 with Retry-After and RateLimit headers once a key's read quota is spent", async () => {
  clockMs = 0;
  assert.equal((await get(TEST_KEYS.read)).status, 200);
  assert.equal((await get(TEST_KEYS.read)).status, 200);
  clockMs = 100;
  const refused = await get(TEST_KEYS.read);
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.body, {
    error: "rate_limited",
    message: "this API key may make 2 read requests per second; retry in 1 s",
    quota: "read_requests",
    limit: 2,
    window_seconds: 1,
    retry_after_seconds: 1,
  });
  assert.equal(refused.headers.get("content-type"), "application/json; charset=utf-8");
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(refused.headers.get("ratelimit-policy"), "2;w=1");
  assert.equal(refused.headers.get("ratelimit-remaining"), "0");
  assert.equal(refused.headers.get("ratelimit-reset"), "1");
  assert.equal((await get(TEST_KEYS.admin)).status, 200, "another key has its own quota");
  clockMs = 500;
  assert.equal((await get(TEST_KEYS.read)).status, 200, "half a second gives one request back");
});

test("the fast path refuses a source after 3 wrong keys, before comparing the next key, for 10 s per attempt", async () => {
  clockMs = 10_000;
  for (let i = 0; i < 3; i++) assert.equal((await get(`wrong-key-${i}-0123456789`)).status, 401);
  const blocked = await get(TEST_KEYS.read);
  assert.equal(blocked.status, 429);
  assert.equal(blocked.body.quota, "auth_failures");
  assert.equal(
    blocked.body.message,
    "too many wrong API keys from this address (at most 3 per 30 s); retry in 10 s",
  );
  assert.equal(blocked.headers.get("retry-after"), "10");
  clockMs = 20_000;
  assert.equal((await get(TEST_KEYS.read)).status, 200);
  assert.equal((await get("wrong-key-3-0123456789")).status, 401);
  assert.equal((await get(TEST_KEYS.read)).status, 429, "the attempt given back is used up again");
});
