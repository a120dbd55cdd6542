import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { retractionEffects } from "./effects.ts";

const T = "2026-01-01T00:00:00.000Z";

describe("retractionEffects", () => {
  it("counts what each read model loses", () => {
    const effects = retractionEffects([
      { event_id: "1", type: "view", user_id: "u1", item_id: "i1", timestamp: T },
      { event_id: "2", type: "view", user_id: "u1", item_id: "i2", timestamp: T },
      {
        event_id: "3",
        type: "exposure",
        user_id: "u2",
        experiment: { key: "x", variant: "a" },
        timestamp: T,
      },
      { event_id: "4", type: "signup", user_id: "u3", timestamp: T },
    ]);
    assert.deepEqual(effects, {
      features: {
        counts: { view: 2, exposure: 1, signup: 1 },
        users: 3,
        items: 2,
        category_events: 2,
        on_rebuild: ["recent", "last_activity"],
      },
      recommendations: { item_events: 2, on_rebuild: ["co-occurrence", "history"] },
      analytics: { events: 4, users: 3, exposures: { x: 1 } },
    });
  });
});
