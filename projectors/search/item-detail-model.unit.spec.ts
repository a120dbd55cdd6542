import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { windowIncrement, windowIndex } from "../runtime/decay.ts";
import { detailIncrements } from "./item-detail-model.ts";

const T = "2026-02-27T10:30:00.000Z";
const purchase: InteractionEvent = {
  event_id: "e1",
  type: "purchase",
  user_id: "u1",
  item_id: "i1",
  timestamp: T,
};
const view: InteractionEvent = { ...purchase, event_id: "e2", type: "view" };
const envelope = { position: 1, transaction_id: "9", received_at: T };
const interaction = (event: InteractionEvent): LogMessage => ({ ...envelope, kind: "interaction", event });
const retraction = (original: InteractionEvent): LogMessage => ({
  ...envelope,
  kind: "retraction",
  event: {
    event_id: `r-${original.event_id}`,
    type: "retraction",
    retracts: original.event_id,
    retraction_id: "cmd",
    user_id: original.user_id,
    item_id: original.item_id!,
    timestamp: T,
    categories: [],
    original,
  },
});

describe("detailIncrements", () => {
  const { popularityShort: short, popularityLong: long } = DEFAULT_FEATURES_CONFIG;
  const t = Date.parse(T);

  it("a retraction subtracts exactly its original's count and weighted window increments", () => {
    const d = detailIncrements([interaction(view), retraction(purchase)], DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(d.counts, [
      { item_id: "i1", type: "purchase", count: -1 },
      { item_id: "i1", type: "view", count: 1 },
    ]);
    // view weighs 1, purchase 5 (typeWeights): the window gains the view and loses the purchase.
    const net = (h: typeof short) => windowIncrement(h, t, 1) - windowIncrement(h, t, 5);
    assert.deepEqual(
      d.popularity,
      [
        { item_id: "i1", horizon: long.name, window_index: windowIndex(long, t), value: net(long) },
        { item_id: "i1", horizon: short.name, window_index: windowIndex(short, t), value: net(short) },
      ].sort((a, b) => (a.horizon < b.horizon ? -1 : 1)),
    );
    assert.ok(net(short) < 0);
  });

  it("an original and its retraction in one batch add nothing", () => {
    const d = detailIncrements([interaction(purchase), retraction(purchase)], DEFAULT_FEATURES_CONFIG);
    assert.deepEqual(d.counts, [{ item_id: "i1", type: "purchase", count: 0 }]);
    assert.deepEqual(
      d.popularity.map((p) => p.value),
      [0, 0],
    );
  });
});
