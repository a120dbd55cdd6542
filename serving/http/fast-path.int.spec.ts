import { uncachedReadSide } from "../ranking/testing.ts";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { stackEnv, uniqueName } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { catalog, interaction } from "../../projectors/runtime/testing.ts";
import { HEURISTIC_RANKER, type Ranker } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { recommendationsFastPath } from "./fast-path.ts";
import { servingRouter, type ServingRouterDeps } from "./router.ts";

/**
 * GET /v1/recommendations on the node:http fast path: the same contract as the express route. One app with the
 * fast path, one without (RECKON_HTTP_FAST_PATH=0), and the fast path alone on a bare node:http server (to see
 * which requests it answers itself), all over the same Redis read models.
 */
const redis = new Redis(stackEnv().REDIS_URL);
const prefix = uniqueName("rkfast");
let position = 2_000_000;
const LEFT_TO_EXPRESS = 599;

let withFast: Awaited<ReturnType<typeof serveForTest>>;
let expressOnly: Awaited<ReturnType<typeof serveForTest>>;
let bare: Server;
let bareBase: string;

/** The heuristic ranker, except that scoring fails while `failScoring` is set (a model that cannot score). */
let failScoring = false;
const failingRanker: Ranker = {
  ...HEURISTIC_RANKER,
  score: (rows, count) =>
    failScoring ? Promise.reject(new Error("scoring failed")) : HEURISTIC_RANKER.score(rows, count),
};

const ago = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const view = (user: string, item: string, m: number, type = "view") =>
  interaction(user, item, type, ago(m), ++position);

before(async () => {
  const projections = [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ];
  const messages: LogMessage[] = [
    ...["m1", "m2", "m3", "m4"].map((id) => catalog(id, ["movies"], 1, ++position)),
    ...["b1", "b2", "b3", "b4"].map((id) => catalog(id, ["books"], 1, ++position)),
    catalog("x1", ["movies"], 1, ++position, { available: false }),
  ];
  for (let u = 0; u < 6; u++)
    messages.push(view(`p${u}`, "x1", 60), view(`p${u}`, "m1", 59), view(`p${u}`, "b1", 58));
  for (let u = 0; u < 3; u++) messages.push(view(`p${u}`, "m2", 57), view(`p${u}`, "b2", 56));
  messages.push(view("reader", "m1", 10), view("reader", "b2", 9));
  for (const p of projections) await p.applyMessages(messages, "test");

  const deps = (fast: boolean): ServingRouterDeps => {
    return {
      ...uncachedReadSide(redis, prefix),
      ranker: () => failingRanker,
      config: { ...servingConfigFromEnv({}), cacheMs: 0, httpFastPath: fast },
      keys: new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] }),
    };
  };
  withFast = await serveForTest([servingRouter(deps(true))]);
  expressOnly = await serveForTest([servingRouter(deps(false))]);
  const fastPath = recommendationsFastPath(deps(true));
  bare = createServer((req, res) => {
    if (fastPath(req, res)) return;
    res.statusCode = LEFT_TO_EXPRESS;
    res.end();
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
});

after(async () => {
  await withFast?.close();
  await expressOnly?.close();
  await new Promise((resolve) => bare?.close(resolve));
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const auth = (key: string | null): Record<string, string> =>
  key === null ? {} : { authorization: `Bearer ${key}` };

async function bareGet(path: string, key: string | null = TEST_KEYS.read, method = "GET") {
  const res = await fetch(bareBase + path, { method, headers: auth(key) });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the fields directly
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as any) : undefined };
}

const ids = (body: { items: { item_id: string }[] }) => body.items.map((i) => i.item_id);

test("the fast path itself answers exclusions, consumed items, unavailable items and the category filter", async () => {
  const excluded = await bareGet("/v1/recommendations/reader?n=10&exclude=m2&exclude=b3,m3");
  assert.equal(excluded.status, 200);
  assert.equal(excluded.headers.get("content-type"), "application/json; charset=utf-8");
  const got = ids(excluded.body);
  for (const banned of ["m1", "b2", "m2", "b3", "m3", "x1"])
    assert.ok(!got.includes(banned), `${banned} in ${got}`);
  assert.deepEqual(new Set(got), new Set(["b1", "b4", "m4"]));
  assert.equal(excluded.body.model_version, null);
  assert.match(excluded.body.request_id, /^[0-9a-f-]{36}$/);

  const books = await bareGet("/v1/recommendations/nobody?n=3&category=books");
  assert.equal(books.status, 200);
  // Popular books first, then the catalog's most recently changed book (b4 was written after b3).
  assert.deepEqual(ids(books.body), ["b1", "b2", "b4"]);
});

test("the fast path answers 400 naming field, rule and what was received, and 401/403 on auth", async () => {
  const bad = await bareGet("/v1/recommendations/u?n=abc&country=germany");
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.body, {
    error: "invalid_request",
    message: "n: must be an integer from 1 to 200; country: must be an ISO 3166-1 alpha-2 code, e.g. DE",
    errors: [
      { field: "n", rule: "must be an integer from 1 to 200", received: "abc" },
      { field: "country", rule: "must be an ISO 3166-1 alpha-2 code, e.g. DE", received: "germany" },
    ],
  });
  const unknown = await bareGet("/v1/recommendations/u?colour=red");
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.errors.length, 1);
  assert.equal(unknown.body.errors[0].field, "colour");
  assert.equal(unknown.body.errors[0].received, "red");
  assert.match(
    unknown.body.errors[0].rule,
    /^unknown parameter \(known: n, category, exclude, min_position, /,
  );
  const twice = await bareGet("/v1/recommendations/u?n=1&n=2");
  assert.deepEqual(twice.body.errors, [{ field: "n", rule: "must be given once", received: ["1", "2"] }]);

  const none = await bareGet("/v1/recommendations/u", null);
  assert.equal(none.status, 401);
  assert.equal(none.body.required_scope, "read");
  const unknownKey = await bareGet("/v1/recommendations/u", "not-a-key");
  assert.deepEqual(unknownKey.body, {
    error: "unauthorized",
    message: "unknown API key",
    required_scope: "read",
  });
  const writeKey = await bareGet("/v1/recommendations/u", TEST_KEYS.write);
  assert.equal(writeKey.status, 403);
  assert.equal(writeKey.body.error, "forbidden");
  assert.equal((await bareGet("/v1/recommendations/u", TEST_KEYS.admin)).status, 200);
});

test("forms the fast path does not take are left to express", async () => {
  for (const path of [
    "/v1/recommendations/u/", // trailing slash
    "/V1/recommendations/u", // other casing
    "/v1/recommendations/%E0%A4%A", // malformed escape
    "/v1/recommendations/", // no id
    "/v1/ping",
  ])
    assert.equal((await bareGet(path)).status, LEFT_TO_EXPRESS, path);
  assert.equal((await bareGet("/v1/recommendations/u", TEST_KEYS.read, "HEAD")).status, LEFT_TO_EXPRESS);
  // ... and the app answers them as express always did.
  assert.equal((await withFast.call("GET", "/v1/recommendations/reader/", { scope: "read" })).status, 200);
  assert.equal((await withFast.call("GET", "/v1/recommendations/%E0%A4%A", { scope: "read" })).status, 400);
});

test("with and without the fast path the app answers the same (status, body, headers)", async () => {
  const cases: [string, keyof typeof TEST_KEYS | "none"][] = [
    ["/v1/recommendations/reader?n=5", "read"],
    ["/v1/recommendations/reader?n=10&exclude=m2,b1&category=books&category=movies", "read"],
    ["/v1/recommendations/nobody?category=books&n=2", "read"],
    ["/v1/recommendations/re%61der?n=3", "read"], // an escaped id is decoded as express decodes it
    ["/v1/recommendations/u?n=0&country=germany&exclude=", "read"],
    ["/v1/recommendations/u?min_position=1.2", "read"], // no position support configured: 501
    ["/v1/recommendations/u?min_position=yesterday", "read"],
    ["/v1/recommendations/u", "none"],
    ["/v1/recommendations/u", "write"],
  ];
  for (const [path, scope] of cases) {
    const [a, b] = await Promise.all([
      withFast.call("GET", path, { scope }),
      expressOnly.call("GET", path, { scope }),
    ]);
    assert.equal(a.status, b.status, path);
    if (a.body?.request_id) {
      assert.match(a.body.request_id, /^[0-9a-f-]{36}$/);
      a.body.request_id = b.body.request_id;
    }
    // Unique per answer, whichever layer answered.
    if (a.body?.recommendation_id) {
      assert.match(a.body.recommendation_id, /^[0-9a-f-]{36}$/);
      assert.notEqual(a.body.recommendation_id, b.body.recommendation_id, path);
      a.body.recommendation_id = b.body.recommendation_id;
    }
    assert.deepEqual(a.body, b.body, path);
    for (const header of [
      "content-type",
      "content-length",
      "x-reckon-position-reached",
      "etag",
      "x-powered-by",
    ])
      assert.equal(a.headers.get(header), b.headers.get(header), `${path} ${header}`);
  }
});

test("a click is reflected in the very next fast-path answer", async () => {
  const first = await bareGet("/v1/recommendations/clicker?n=3");
  assert.ok(ids(first.body).includes("m1"));
  for (const p of [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ])
    await p.applyMessages([view("clicker", "m1", 0, "click")], "test");
  const next = await bareGet("/v1/recommendations/clicker?n=3");
  assert.ok(!ids(next.body).includes("m1"), "the clicked item is consumed at once");
});

test("an internal failure answers 500 as the express app does, and the next request is served", async () => {
  failScoring = true;
  try {
    const [a, b] = await Promise.all([
      withFast.call("GET", "/v1/recommendations/broken", { scope: "read" }),
      expressOnly.call("GET", "/v1/recommendations/broken", { scope: "read" }),
    ]);
    const bareAnswer = await bareGet("/v1/recommendations/broken");
    for (const res of [a, b, bareAnswer]) {
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { error: "internal", message: "internal error; it has been logged" });
    }
  } finally {
    failScoring = false;
  }
  assert.equal((await bareGet("/v1/recommendations/broken")).status, 200);
});
