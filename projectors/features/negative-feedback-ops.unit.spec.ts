import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { DEFAULT_RECOMMENDATIONS_CONFIG, recommendationOps } from "../recommendations/ops.ts";
import { interaction } from "../runtime/testing.ts";
import { featureOps } from "./ops.ts";
import { validateEvent } from "../../core/contracts/event.ts";

const AT = "2026-12-01T10:00:00.000Z";
const TTL = String(DEFAULT_FEATURES_CONFIG.userTtlMs);

test("not_interested: the profile count and the user's dismissals only (no recent entry, popularity or affinity)", () => {
  const decision = featureOps(
    interaction("u1", "i9", "not_interested", AT, 7),
    DEFAULT_FEATURES_CONFIG,
    Date.parse(AT),
  );
  assert.ok("ops" in decision);
  assert.deepEqual(decision.ops, [
    ["hincrby", "{u:u1}:p", "n:not_interested", "1"],
    ["hmax", "{u:u1}:p", "last", String(Date.parse(AT))],
    ["pexpire", "{u:u1}:p", TTL],
    ["hmax", "{u:u1}:nope", "i9", String(Date.parse(AT))],
    ["pexpire", "{u:u1}:nope", TTL],
    [
      "catfan",
      "{i:i9}:item",
      "cats",
      [
        ["hincrby", "$1", "$c", "1"],
        ["pexpire", "$1", TTL],
      ],
      ["{u:u1}:nope:cats"],
    ],
  ]);
});

test("not_interested is no co-occurrence", () => {
  assert.deepEqual(
    recommendationOps(interaction("u1", "i9", "not_interested", AT, 8), DEFAULT_RECOMMENDATIONS_CONFIG),
    { drop: "not an item interaction" },
  );
});

test("the event contract: not_interested is built in and needs an item_id", () => {
  const window = { now: new Date(AT), maxAgeMs: undefined, maxSkewMs: 60_000 };
  const event = {
    event_id: "0b8e7a4e-4f0a-4a53-9c59-3f6f7f3a1b2c",
    type: "not_interested",
    user_id: "u1",
    timestamp: AT,
  };
  assert.deepEqual(validateEvent(event, window), {
    ok: false,
    errors: [{ field: "item_id", rule: 'is required for "not_interested" events' }],
  });
  assert.equal(validateEvent({ ...event, item_id: "i9" }, window).ok, true);
});
