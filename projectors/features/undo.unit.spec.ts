import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { windowIncrement, windowIndex } from "../runtime/decay.ts";
import { featureUndoOps } from "./undo.ts";

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
    const c = DEFAULT_FEATURES_CONFIG;
    const t = Date.parse(T);
    const w = c.typeWeights.purchase!; // 5
    const minus = (h: typeof c.affinity) => String(-windowIncrement(h, t, w));
    const increments = decision.ops.filter((op) => op[0] === "hincrby" || op[0] === "zincrby");
    assert.deepEqual(increments, [
      ["hincrby", "{u:u1}:p", "n:purchase", "-1"],
      ["hincrby", "{i:i1}:n", "purchase", "-1"],
      ["zincrby", `{c:*}:tr:s:${windowIndex(c.popularityShort, t)}`, minus(c.popularityShort), "i1"],
      ["zincrby", `{c:*}:tr:l:${windowIndex(c.popularityLong, t)}`, minus(c.popularityLong), "i1"],
      ...["shoes", "sale"].flatMap((cat) => [
        ["hincrby", `{u:u1}:aff:${windowIndex(c.affinity, t)}`, cat, minus(c.affinity)],
        ["zincrby", `{c:${cat}}:tr:s:${windowIndex(c.popularityShort, t)}`, minus(c.popularityShort), "i1"],
        ["zincrby", `{c:${cat}}:tr:l:${windowIndex(c.popularityLong, t)}`, minus(c.popularityLong), "i1"],
      ]),
    ]);
    // Maxima and trims are not subtracted (a rebuild takes them back).
    assert.ok(!decision.ops.some((op) => op[0] === "hmax" || op[0] === "zadd_gt" || op[0] === "zcap"));
  });
});
