import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { attributeInteraction, attributeInteractions, type ServedSlot } from "./attribution.ts";

const MIN = 60_000;
const R1 = "00000000-0000-4000-8000-000000000001";
const R2 = "00000000-0000-4000-8000-000000000002";
const R3 = "00000000-0000-4000-8000-000000000003";

const slot = (recommendationId: string, userId: string, itemId: string, servedAtMs: number, rank = 1) =>
  ({ recommendationId, userId, itemId, servedAtMs, rank }) satisfies ServedSlot;

// u1 was shown item a at minute 0 (R1, rank 2) and minute 10 (R2, rank 1); u2 was shown a at minute 5 (R3).
const served = [slot(R1, "u1", "a", 0, 2), slot(R2, "u1", "a", 10 * MIN, 1), slot(R3, "u2", "a", 5 * MIN, 3)];
const click = (at: number, recommendationId?: string, userId = "u1", itemId = "a") => ({
  eventId: `e-${at}`,
  userId,
  itemId,
  occurredAtMs: at,
  recommendationId,
});

describe("attributeInteraction", () => {
  it("credits the most recent list that showed the user the item within the window", () => {
    const a = attributeInteraction(click(12 * MIN), served, 30 * MIN);
    assert.deepEqual(a, { eventId: `e-${12 * MIN}`, method: "window", slot: served[1] });
  });

  it("ignores lists served after the event and lists older than the window", () => {
    // At minute 5 only R1 (minute 0) was served before it.
    assert.equal(attributeInteraction(click(5 * MIN), served, 30 * MIN)?.slot.recommendationId, R1);
    // At minute 45 with a 30-minute window: R2 (minute 10) is 35 minutes old, R1 45: neither.
    assert.equal(attributeInteraction(click(45 * MIN), served, 30 * MIN), null);
    // The window's edge is inclusive: exactly 30 minutes after R2.
    assert.equal(attributeInteraction(click(40 * MIN), served, 30 * MIN)?.slot.recommendationId, R2);
    // An event before anything was served.
    assert.equal(attributeInteraction(click(-1), served, 30 * MIN), null);
  });

  it("an explicit recommendation_id wins over a more recent list, with no time limit", () => {
    const a = attributeInteraction(click(500 * MIN, R1.toUpperCase()), served, 30 * MIN);
    assert.deepEqual(a, { eventId: `e-${500 * MIN}`, method: "explicit", slot: served[0] });
  });

  it("an explicit id of another user's list, or of a list without the item, falls back to the window", () => {
    // R3 was served to u2, not u1: the window credits u1's R2.
    assert.deepEqual(attributeInteraction(click(12 * MIN, R3), served, 30 * MIN), {
      eventId: `e-${12 * MIN}`,
      method: "window",
      slot: served[1],
    });
    // R1 did not contain item b, and nothing showed u1 item b: not attributed.
    assert.equal(attributeInteraction(click(12 * MIN, R1, "u1", "b"), served, 30 * MIN), null);
  });

  it("breaks a tie on serving time by the greater recommendation id", () => {
    const tied = [slot(R2, "u1", "a", 0), slot(R1, "u1", "a", 0)];
    assert.equal(attributeInteraction(click(MIN), tied, 30 * MIN)?.slot.recommendationId, R2);
  });
});

describe("attributeInteractions", () => {
  it("attributes each event on its own, in input order, leaving out the unattributed", () => {
    const events = [click(12 * MIN), click(6 * MIN, undefined, "u2"), click(100 * MIN), click(1 * MIN, R2)];
    assert.deepEqual(
      attributeInteractions(events, served, 30 * MIN).map((a) => [
        a.eventId,
        a.method,
        a.slot.recommendationId,
      ]),
      [
        [`e-${12 * MIN}`, "window", R2],
        [`e-${6 * MIN}`, "window", R3],
        [`e-${1 * MIN}`, "explicit", R2],
      ],
    );
  });
});
