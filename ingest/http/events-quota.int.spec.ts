import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { Quotas, UNLIMITED } from "../../core/http/quotas.ts";
import { eventsRouter } from "./events-router.ts";

/**
 * POST /v1/events under quotas on real Postgres, with a clock the test moves: events count one each (a batch
 * of 500 costs 500), write requests count per request, and a refused request stores nothing.
 */
const NOW = new Date("2026-11-22T12:00:00Z");
let clockMs = 0;
let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  t = await createTestDatabase();
  const quotas = new Quotas(
    { ...UNLIMITED, requestsPerSecond: { read: 0, write: 4, admin: 0 }, eventsPerSecond: 1000 },
    () => clockMs,
  );
  const keys = new ApiKeys(
    { read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] },
    quotas,
  );
  api = await serveForTest([
    eventsRouter({ db: t.db, keys, maxEventAgeMs: 72 * 3_600_000, maxClockSkewMs: 300_000, now: () => NOW }),
  ]);
});
after(async () => {
  await api.close();
  await t.drop();
});

const batch = (n: number) =>
  Array.from({ length: n }, () => ({
    event_id: randomUUID(),
    type: "view",
    user_id: "u1",
    item_id: "i1",
    timestamp: "2026-11-22T11:59:00Z",
  }));

async function stored(events: { event_id: string }[]): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM events WHERE event_id = ANY($1::uuid[])",
    [events.map((e) => e.event_id)],
  );
  return Number(rows[0]!.n);
}

test("events are counted one by one: 600 pass, the next 500 get 429 and are not stored, 500 ms later they pass", async () => {
  clockMs = 0;
  const first = await api.call("POST", "/v1/events", { scope: "write", body: { events: batch(600) } });
  assert.equal(first.status, 200);
  assert.equal(first.body.accepted, 600);

  const refusedBatch = batch(500);
  const refused = await api.call("POST", "/v1/events", { scope: "write", body: { events: refusedBatch } });
  assert.equal(refused.status, 429);
  assert.deepEqual(refused.body, {
    error: "rate_limited",
    message:
      "this API key may send 1000 events per second; this request carries 500 and 400 are left now; retry in 1 s",
    quota: "events",
    limit: 1000,
    window_seconds: 1,
    retry_after_seconds: 1,
  });
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(refused.headers.get("ratelimit-policy"), "1000;w=1");
  assert.equal(refused.headers.get("ratelimit-limit"), "1000");
  assert.equal(refused.headers.get("ratelimit-remaining"), "400");
  assert.equal(refused.headers.get("ratelimit-reset"), "1");
  assert.equal(await stored(refusedBatch), 0);

  clockMs = 500;
  const later = await api.call("POST", "/v1/events", { scope: "write", body: { events: refusedBatch } });
  assert.equal(later.status, 200);
  assert.equal(await stored(refusedBatch), 500);
});

test("invalid events cost as much as valid ones: the quota bounds the work asked for", async () => {
  clockMs = 10_000;
  const invalid = Array.from({ length: 1000 }, () => ({ type: "view" }));
  const rejected = await api.call("POST", "/v1/events", { scope: "write", body: { events: invalid } });
  assert.equal(rejected.status, 400);
  const next = await api.call("POST", "/v1/events", { scope: "write", body: batch(1)[0] });
  assert.equal(next.status, 429);
  assert.equal(next.body.quota, "events");
  assert.equal(next.body.message.includes("this request carries 1 and 0 are left now"), true);
});

test("write requests are counted per request, whatever they carry", async () => {
  clockMs = 20_000;
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++)
    statuses.push((await api.call("POST", "/v1/events", { scope: "write", body: batch(1)[0] })).status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 429]);
  const refused = await api.call("POST", "/v1/events", { scope: "write", body: batch(1)[0] });
  assert.equal(refused.body.quota, "write_requests");
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(refused.headers.get("ratelimit-policy"), "4;w=1");
});
