// Business time comes from an injected clock (core/clock): the features reader evaluates decayed values at the
// clock's now when a read names no time, and the projection counts key lifetimes from it. On every store.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { fixedClock, systemClock } from "../../core/clock/clock.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { RedisProjection } from "../runtime/redis-projection.ts";
import { windowIndex, windowMs } from "../runtime/decay.ts";
import { createFeaturesProjection, FEATURES_NS } from "./projection.ts";
import { FeaturesReader } from "./read.ts";

const SHORT = DEFAULT_FEATURES_CONFIG.popularityShort;
// The start of a short-popularity window: an event there adds exactly its weight × SCALE to the window.
const T0 = windowIndex(SHORT, Date.parse("2026-01-05T00:00:00.000Z")) * windowMs(SHORT);

const view = (position: number, user: string, item: string, atMs: number): LogMessage => ({
  position,
  transaction_id: String(position),
  received_at: new Date(atMs).toISOString(),
  kind: "interaction",
  event: {
    event_id: `00000000-0000-4000-c000-${position.toString(16).padStart(12, "0")}`,
    type: "view",
    user_id: user,
    item_id: item,
    timestamp: new Date(atMs).toISOString(),
  },
});

for (const backend of PROJECTION_STORES) {
  describe(`an injected clock (${backend.name})`, () => {
    const suite = storeForSuite(backend);
    after(() => suite.cleanUp());

    it("trending is read at the reader's clock when the read names no time", async () => {
      const store = await suite.store();
      const prefix = suite.prefix("clock");
      const projection = createFeaturesProjection(store, { prefix, clock: fixedClock(T0) });
      await projection.applyMessages(
        [view(1, "u1", "i1", T0), view(2, "u2", "i1", T0), view(3, "u1", "i2", T0)],
        "s",
      );

      // One and two half-lives after the events: the view weight (1) per event, halved and quartered.
      const oneLater = new FeaturesReader(
        store,
        prefix,
        DEFAULT_FEATURES_CONFIG,
        undefined,
        fixedClock(T0 + SHORT.ms),
      );
      assert.deepEqual(await oneLater.getTrending(undefined, 5), [
        { item_id: "i1", score: 1 },
        { item_id: "i2", score: 0.5 },
      ]);
      const twoLater = new FeaturesReader(
        store,
        prefix,
        DEFAULT_FEATURES_CONFIG,
        undefined,
        fixedClock(T0 + 2 * SHORT.ms),
      );
      assert.deepEqual(await twoLater.getTrending(undefined, 5), [
        { item_id: "i1", score: 0.5 },
        { item_id: "i2", score: 0.25 },
      ]);
      // A time the read names wins over the clock.
      assert.deepEqual(await twoLater.getTrending(undefined, 5, "short", T0), [
        { item_id: "i1", score: 2 },
        { item_id: "i2", score: 1 },
      ]);
      // The system clock reads today's windows, where these January events no longer count.
      const today = new FeaturesReader(store, prefix, DEFAULT_FEATURES_CONFIG, undefined, systemClock);
      assert.deepEqual(await today.getTrending(undefined, 5), []);
    });

    it("a projection decides its messages at its clock's now", async () => {
      const store = await suite.store();
      const seen: number[] = [];
      const projection = new RedisProjection({
        name: "clock-probe",
        ns: FEATURES_NS,
        store,
        prefix: suite.prefix("clock-probe"),
        clock: fixedClock(T0 + 7),
        decide: (_message, nowMs) => {
          seen.push(nowMs);
          return { ops: [] };
        },
      });
      await projection.applyMessages([view(1, "u1", "i1", T0), view(2, "u1", "i2", T0)], "s");
      assert.deepEqual(seen, [T0 + 7, T0 + 7]);
    });
  });
}
