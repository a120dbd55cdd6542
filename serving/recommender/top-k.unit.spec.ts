import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { topKIndices } from "./top-k.ts";

describe("topKIndices", () => {
  it("returns the k largest, best first, ties by lower index, skipping one index and values ≤ floor", () => {
    const values = [0.5, 3, -1, 3, 2, 0, 7];
    assert.deepEqual(topKIndices(values, 3), [6, 1, 3]);
    assert.deepEqual(topKIndices(values, 3, 6), [1, 3, 4]);
    assert.deepEqual(topKIndices(values, 10, -1, 0), [6, 1, 3, 4, 0]);
    assert.deepEqual(topKIndices(values, 0), []);
  });
});
