import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { windowIncrement, windowIndex } from "../runtime/decay.ts";
import { featureUndoOps } from "./undo.ts";
import { userActivityUndoOps } from "./user-activity.ts";

const NOW = Date.parse("2026-03-01T00:00:00.000Z");
const T = "2026-02-27T10:30:00.000Z";
const original: InteractionEvent = {
  event_id: "e1",
  type: "purchase",
  user_id: "u1",
  item_id: "i1",
  timestamp: T,
};
const message: Extract<LogMessage, { kind: "retraction" }> = {
  position: 10,
  transaction_id: "9",
  received_at: "2026-02-28T00:00:00.000Z",
  kind: "retraction",
  event: {
    event_id: "r1",
    type: "retraction",
    retracts: "e1",
    retraction_id: "cmd",
    user_id: "u1",
    item_id: "i1",
    timestamp: "2026-02-28T00:00:00.000Z",
    categories: ["shoes", "sale"],
    original,
  },
};

describe("featureUndoOps", () => {
  it("negates every increment of the original, over the categories it was applied with", () => {
    const decision = featureUndoOps(message, DEFAULT_FEATURES_CONFIG, NOW);
    assert.ok("ops" in decision);
    const increments = decision.ops.filter((op) => op[0] === "hincrby_drop" || op[0] === "zincrby_drop");
    assert.deepEqual(increments, [["hincrby_drop", "{u:u1}:p", "n:purchase", "-1"], ...negatedIncrements()]);
    // Without the user's log, maxima and trims are not subtracted (a rebuild takes them back).
    assert.ok(!decision.ops.some((op) => op[0] === "hmax" || op[0] === "zadd_gt" || op[0] === "zcap"));
  });

  it("with the user's log, replaces the user's profile and recent list by the log without the original", () => {
    const at = (minute: number) => new Date(Date.parse(T) + minute * 60_000).toISOString();
    const interaction = (
      event_id: string,
      type: string,
      item: string | undefined,
      minute: number,
    ): LogMessage => ({
      position: minute + 1,
      transaction_id: "9",
      received_at: at(minute),
      kind: "interaction",
      event: { event_id, type, user_id: "u1", ...(item ? { item_id: item } : {}), timestamp: at(minute) },
    });
    const userLog: LogMessage[] = [
      interaction("e0", "view", "i2", -5),
      interaction("e1", "purchase", "i1", 0),
      interaction("e2", "not_interested", "i3", -1),
      message,
    ];
    const decision = featureUndoOps(
      message,
      DEFAULT_FEATURES_CONFIG,
      NOW,
      userActivityUndoOps(userLog, message, DEFAULT_FEATURES_CONFIG),
    );
    assert.ok("ops" in decision);
    const ttl = String(DEFAULT_FEATURES_CONFIG.userTtlMs);
    // The profile's count is replaced with the rest, not decremented beside it (one writer per key in the call).
    assert.deepEqual(decision.ops.slice(-4), [
      ["hreplace", "{u:u1}:p", "last", String(Date.parse(at(-1))), "n:not_interested", "1", "n:view", "1"],
      ["pexpire", "{u:u1}:p", ttl],
      ["zreplace", "{u:u1}:recent", String(Date.parse(at(-5))), "view:i2"],
      ["pexpire", "{u:u1}:recent", ttl],
    ]);
    assert.deepEqual(
      decision.ops.filter((op) => op[0] === "hincrby_drop" || op[0] === "zincrby_drop"),
      negatedIncrements(),
    );
    assert.ok(!decision.ops.slice(0, -4).some((op) => op[1] === "{u:u1}:p" || op[1] === "{u:u1}:recent"));
  });
});

describe("featureUndoOps of a not_interested", () => {
  it("takes one dismissal from each category it was applied with and replaces the dismissed items", () => {
    const at = (minute: number) => new Date(Date.parse(T) + minute * 60_000).toISOString();
    const nope = (event_id: string, item: string, minute: number): InteractionEvent => ({
      event_id,
      type: "not_interested",
      user_id: "u1",
      item_id: item,
      timestamp: at(minute),
    });
    const logged = (e: InteractionEvent, position: number): LogMessage => ({
      position,
      transaction_id: "9",
      received_at: e.timestamp,
      kind: "interaction",
      event: e,
    });
    const n1 = nope("n1", "i1", 0);
    const n2 = nope("n2", "i1", -3);
    const n3 = nope("n3", "i2", -2);
    const retraction = { ...message, event: { ...message.event, retracts: "n1", original: n1 } };
    const ttl = String(DEFAULT_FEATURES_CONFIG.userTtlMs);
    const userLog = [logged(n2, 1), logged(n3, 2), logged(n1, 3), retraction];
    const decision = featureUndoOps(
      retraction,
      DEFAULT_FEATURES_CONFIG,
      NOW,
      userActivityUndoOps(userLog, retraction, DEFAULT_FEATURES_CONFIG),
    );
    assert.ok("ops" in decision);
    assert.deepEqual(decision.ops, [
      ["hincrby_drop", "{u:u1}:nope:cats", "shoes", "-1"],
      ["hincrby_drop", "{u:u1}:nope:cats", "sale", "-1"],
      ["hreplace", "{u:u1}:p", "last", String(Date.parse(at(-2))), "n:not_interested", "2"],
      ["pexpire", "{u:u1}:p", ttl],
      ["zreplace", "{u:u1}:recent"],
      // i1's dismissal falls back to the earlier one.
      ["hreplace", "{u:u1}:nope", "i1", String(Date.parse(at(-3))), "i2", String(Date.parse(at(-2)))],
      ["pexpire", "{u:u1}:nope", ttl],
    ]);
  });
});

/** The original's item count, popularity and affinity increments, negated (scores taken to 0 are dropped). */
function negatedIncrements() {
  const c = DEFAULT_FEATURES_CONFIG;
  const t = Date.parse(T);
  const w = c.typeWeights.purchase!; // 5
  const minus = (h: typeof c.affinity) => String(-windowIncrement(h, t, w));
  const noCap = String(Number.MAX_SAFE_INTEGER);
  return [
    ["hincrby_drop", "{i:i1}:n", "purchase", "-1"],
    [
      "zincrby_drop",
      `{c:*}:tr:s:${windowIndex(c.popularityShort, t)}`,
      minus(c.popularityShort),
      "i1",
      noCap,
    ],
    ["zincrby_drop", `{c:*}:tr:l:${windowIndex(c.popularityLong, t)}`, minus(c.popularityLong), "i1", noCap],
    ...["shoes", "sale"].flatMap((cat) => [
      ["hincrby_drop", `{u:u1}:aff:${windowIndex(c.affinity, t)}`, cat, minus(c.affinity)],
      [
        "zincrby_drop",
        `{c:${cat}}:tr:s:${windowIndex(c.popularityShort, t)}`,
        minus(c.popularityShort),
        "i1",
        noCap,
      ],
      [
        "zincrby_drop",
        `{c:${cat}}:tr:l:${windowIndex(c.popularityLong, t)}`,
        minus(c.popularityLong),
        "i1",
        noCap,
      ],
    ]),
  ];
}
