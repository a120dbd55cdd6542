import { test } from "node:test";
import assert from "node:assert/strict";
import { validateEvent, type TimeWindow } from "./event.ts";

const window: TimeWindow = {
  now: new Date("2026-11-22T12:00:00Z"),
  maxAgeMs: 72 * 3_600_000,
  maxSkewMs: 300_000,
};
const base = {
  event_id: "6f1c3f1e-8a43-4c55-9b1e-1f2d3c4b5a69",
  type: "view",
  user_id: "u1",
  item_id: "i1",
  timestamp: "2026-11-22T11:00:00Z",
};

test("a complete valid event passes unchanged", () => {
  const e = {
    ...base,
    type: "purchase",
    value: 12.5,
    context: { session_id: "s", device: "ios", country: "DE" },
    properties: { coupon: "X", items: [1, 2] },
  };
  assert.deepEqual(validateEvent(e, window), { ok: true, event: e });
});

test("each broken rule names the field, the rule and what was received", () => {
  const result = validateEvent(
    { ...base, event_id: "nope", user_id: "a b", value: "3", extra: 1 },
    window,
    "events.4",
  );
  assert.deepEqual(result, {
    ok: false,
    errors: [
      {
        field: "events.4.event_id",
        rule: "must be a UUID (client-generated; it is the idempotency key)",
        received: "nope",
      },
      {
        field: "events.4.user_id",
        rule: "must be 1–256 characters without whitespace or control characters",
        received: "a b",
      },
      { field: "events.4.value", rule: "must be a finite number", received: "3" },
      { field: "events.4.extra", rule: "unknown field", received: 1 },
    ],
  });
});

test("the time window: 5 minutes of clock skew ahead, 72 hours back, unbounded for backfill", () => {
  const at = (timestamp: string, w = window) => validateEvent({ ...base, timestamp }, w).ok;
  assert.equal(at("2026-11-22T12:05:00Z"), true);
  assert.equal(at("2026-11-22T12:05:01Z"), false);
  assert.equal(at("2026-11-19T12:00:00Z"), true);
  assert.equal(at("2026-11-19T11:59:59Z"), false);
  assert.equal(at("2001-01-01T00:00:00Z", { ...window, maxAgeMs: undefined }), true);
  const future = validateEvent({ ...base, timestamp: "2026-11-23T00:00:00+02:00" }, window);
  assert.deepEqual(future, {
    ok: false,
    errors: [
      {
        field: "timestamp",
        rule: "must not be more than 300s in the future",
        received: "2026-11-23T00:00:00+02:00",
      },
    ],
  });
});

test("type-specific requirements: item_id for item interactions, value for ratings, experiment for exposures", () => {
  const fields = (e: object) => {
    const r = validateEvent(e, window);
    return r.ok ? [] : r.errors.map((x) => x.field);
  };
  assert.deepEqual(fields({ ...base, item_id: undefined }), ["item_id"]);
  assert.deepEqual(fields({ ...base, type: "rating" }), ["value"]);
  assert.deepEqual(fields({ ...base, type: "exposure", item_id: undefined }), ["experiment"]);
  assert.deepEqual(
    fields({ ...base, type: "exposure", item_id: undefined, experiment: { key: "exp-1", variant: "b" } }),
    [],
  );
  assert.deepEqual(fields({ ...base, type: "newsletter_signup", item_id: undefined }), []);
  assert.deepEqual(fields({ ...base, type: "Bad Type" }), ["type"]);
});

test("properties are bounded in size and depth", () => {
  const big = validateEvent({ ...base, properties: { s: "x".repeat(8200) } }, window);
  assert.equal(big.ok, false);
  assert.deepEqual(!big.ok && big.errors.map((e) => [e.field, e.rule]), [
    ["properties", "must serialise to at most 8192 bytes of JSON"],
  ]);
  const deep = validateEvent({ ...base, properties: { a: { b: { c: { d: 1 } } } } }, window);
  assert.equal(deep.ok, true);
  const tooDeep = validateEvent({ ...base, properties: { a: { b: { c: { d: { e: 1 } } } } } }, window);
  assert.deepEqual(!tooDeep.ok && tooDeep.errors.map((e) => e.rule), ["must nest at most 4 levels deep"]);
});
