import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ownedExactlyBy, type GroupAssignment } from "./consumer-groups.ts";

const group = (byHost: Record<string, number[]>, state = "Stable"): GroupAssignment => ({
  group: "g",
  state,
  byHost,
});

describe("ownedExactlyBy", () => {
  test("every partition owned, by exactly the named hosts, each owning some", () => {
    assert.equal(ownedExactlyBy(group({ b: [0, 1, 2], c: [3, 4, 5] }), ["c", "b"], 6), true);
    assert.equal(ownedExactlyBy(group({ c: [0, 1, 2, 3, 4, 5] }), ["c"], 6), true);
  });

  test("a partition missing, an extra or missing host, an idle host, or a rebalance in progress: not yet", () => {
    assert.equal(ownedExactlyBy(group({ b: [0, 1, 2], c: [3, 4] }), ["b", "c"], 6), false);
    assert.equal(ownedExactlyBy(group({ b: [0, 1, 2], c: [3, 4, 5] }), ["c"], 6), false);
    assert.equal(ownedExactlyBy(group({ c: [0, 1, 2, 3, 4, 5] }), ["b", "c"], 6), false);
    assert.equal(ownedExactlyBy(group({ b: [], c: [0, 1, 2, 3, 4, 5] }), ["b", "c"], 6), false);
    assert.equal(ownedExactlyBy(group({ c: [0, 1, 2, 3, 4, 5] }, "PreparingRebalance"), ["c"], 6), false);
  });
});
