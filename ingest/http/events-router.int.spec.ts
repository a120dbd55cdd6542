import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { eventsRouter } from "./events-router.ts";
import { parsePositionToken } from "../../core/contracts/position.ts";

const NOW = new Date("2026-11-22T12:00:00Z");
let t: TestDatabase;
let api: Awaited<ReturnType<typeof serveForTest>>;

before(async () => {
  t = await createTestDatabase();
  const keys = new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] });
  api = await serveForTest([
    eventsRouter({ db: t.db, keys, maxEventAgeMs: 72 * 3_600_000, maxClockSkewMs: 300_000, now: () => NOW }),
  ]);
});
after(async () => {
  await api.close();
  await t.drop();
});

const view = (over: Record<string, unknown> = {}) => ({
  event_id: randomUUID(),
  type: "view",
  user_id: "u1",
  item_id: "i1",
  timestamp: "2026-11-22T11:59:00Z",
  ...over,
});

async function storedCount(eventId: string): Promise<number> {
  const { rows } = await t.db.query<{ n: number }>(
    "SELECT count(*)::bigint AS n FROM events WHERE event_id = $1",
    [eventId],
  );
  return rows[0]!.n;
}

describe("POST /v1/events", () => {
  test("a valid single event is stored once and answered with its position", async () => {
    const e = view({ value: 2, context: { device: "ios", country: "DE" }, properties: { plan: "pro" } });
    const res = await api.call("POST", "/v1/events", { scope: "write", body: e });
    assert.equal(res.status, 200);
    assert.deepEqual(
      { accepted: res.body.accepted, duplicate: res.body.duplicate, rejected: res.body.rejected },
      { accepted: 1, duplicate: 0, rejected: 0 },
    );
    assert.deepEqual(res.body.results, [{ index: 0, event_id: e.event_id, status: "accepted" }]);
    const token = parsePositionToken(res.body.position);
    assert.ok(token, `position token ${res.body.position}`);
    const { rows } = await t.db.query<{ position: number; payload: unknown; kind: string }>(
      "SELECT position, payload, kind FROM events WHERE event_id = $1",
      [e.event_id],
    );
    assert.equal(rows[0]!.position, token.position);
    assert.equal(rows[0]!.kind, "interaction");
    assert.deepEqual(rows[0]!.payload, e);
  });

  test("a repeated event_id is acknowledged as duplicate and not stored twice", async () => {
    const e = view();
    const first = await api.call("POST", "/v1/events", { scope: "write", body: e });
    const second = await api.call("POST", "/v1/events", { scope: "write", body: e });
    assert.equal(second.status, 200);
    assert.equal(second.body.results[0].status, "duplicate");
    // The duplicate's token points at the original write, so a read-your-writes wait still works on retry.
    assert.equal(second.body.position, first.body.position);
    assert.equal(await storedCount(e.event_id), 1);
  });

  test("duplicates within one batch are stored once", async () => {
    const e = view();
    const res = await api.call("POST", "/v1/events", { scope: "write", body: { events: [e, e] } });
    assert.deepEqual(
      res.body.results.map((r: { status: string }) => r.status),
      ["accepted", "duplicate"],
    );
    assert.equal(await storedCount(e.event_id), 1);
  });

  test("an invalid event is rejected with field, rule and received value", async () => {
    const res = await api.call("POST", "/v1/events", {
      scope: "write",
      body: view({ type: "view", item_id: undefined, timestamp: "2026-13-01", surprise: true }),
    });
    assert.equal(res.status, 400);
    const errors = res.body.results[0].errors;
    assert.deepEqual(
      errors.map((e: { field: string }) => e.field),
      ["timestamp", "surprise", "item_id"],
    );
    assert.equal(errors[0].received, "2026-13-01");
    assert.match(errors[0].rule, /ISO-8601/);
    assert.equal(errors[1].rule, "unknown field");
    assert.equal(errors[2].rule, 'is required for "view" events');
  });

  test("a mixed batch records the good events and reports each bad one", async () => {
    const good1 = view();
    const good2 = view({ type: "purchase", value: 19.99 });
    const bad = view({ event_id: "not-a-uuid" });
    const future = view({ timestamp: "2026-11-22T12:30:00Z" });
    const old = view({ timestamp: "2026-10-01T00:00:00Z" });
    const res = await api.call("POST", "/v1/events", {
      scope: "write",
      body: { events: [good1, bad, good2, future, old] },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      { accepted: res.body.accepted, duplicate: res.body.duplicate, rejected: res.body.rejected },
      { accepted: 2, duplicate: 0, rejected: 3 },
    );
    assert.deepEqual(
      res.body.results.map((r: { status: string }) => r.status),
      ["accepted", "rejected", "accepted", "rejected", "rejected"],
    );
    assert.equal(res.body.results[1].errors[0].field, "events.1.event_id");
    assert.match(res.body.results[3].errors[0].rule, /future/);
    assert.match(res.body.results[4].errors[0].rule, /past/);
    assert.equal(await storedCount(good1.event_id), 1);
    assert.equal(await storedCount(good2.event_id), 1);
  });

  test("backfill accepts old timestamps, but only with an admin key", async () => {
    const old = view({ timestamp: "2019-01-01T00:00:00Z" });
    const denied = await api.call("POST", "/v1/events?backfill=true", { scope: "write", body: old });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.required_scope, "admin");
    const ok = await api.call("POST", "/v1/events?backfill=true", { scope: "admin", body: old });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.accepted, 1);
  });

  test("scopes: no key is 401, a read key is 403 naming the write scope", async () => {
    const none = await api.call("POST", "/v1/events", { scope: "none", body: view() });
    assert.equal(none.status, 401);
    const wrongKey = await api.call("POST", "/v1/events", {
      scope: "none",
      headers: { authorization: "Bearer not-a-key" },
      body: view(),
    });
    assert.equal(wrongKey.status, 401);
    const read = await api.call("POST", "/v1/events", { scope: "read", body: view() });
    assert.equal(read.status, 403);
    assert.equal(read.body.required_scope, "write");
    assert.match(read.body.message, /"write" scope/);
  });

  test("batch limits and malformed bodies are clear 4xx answers", async () => {
    const tooMany = await api.call("POST", "/v1/events", {
      scope: "write",
      body: { events: Array.from({ length: 1001 }, () => ({})) },
    });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.errors[0].field, "events");
    assert.equal(tooMany.body.errors[0].received, 1001);

    const badJson = await api.call("POST", "/v1/events", { scope: "write", raw: "{not json" });
    assert.equal(badJson.status, 400);
    assert.equal(badJson.body.error, "invalid_json");

    const huge = await api.call("POST", "/v1/events", {
      scope: "write",
      raw: JSON.stringify({ events: [view({ properties: { blob: "x".repeat(1_100_000) } })] }),
    });
    assert.equal(huge.status, 413);

    const bigProps = await api.call("POST", "/v1/events", {
      scope: "write",
      body: view({ properties: { blob: "x".repeat(9000) } }),
    });
    assert.equal(bigProps.status, 400);
    assert.equal(bigProps.body.results[0].errors[0].field, "properties");

    const rating = await api.call("POST", "/v1/events", { scope: "write", body: view({ type: "rating" }) });
    assert.equal(rating.body.results[0].errors[0].field, "value");

    const exposure = await api.call("POST", "/v1/events", {
      scope: "write",
      body: view({ type: "exposure", item_id: undefined }),
    });
    assert.equal(exposure.body.results[0].errors[0].field, "experiment");
  });

  test("custom event types are accepted", async () => {
    const res = await api.call("POST", "/v1/events", {
      scope: "write",
      body: view({ type: "share_to_friend", item_id: undefined }),
    });
    assert.equal(res.body.accepted, 1);
  });
});
