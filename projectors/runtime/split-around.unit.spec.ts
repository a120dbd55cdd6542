import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { splitAround } from "./redis-projection.ts";

describe("splitAround", () => {
  const alone = (m: string) => m.startsWith("r");
  it("puts picked messages apart from the others, consecutive ones together, in order", () => {
    assert.deepEqual(splitAround(["a", "b", "r1", "r2", "c", "r3"], alone), [
      ["a", "b"],
      ["r1", "r2"],
      ["c"],
      ["r3"],
    ]);
    assert.deepEqual(splitAround(["r1", "a"], alone), [["r1"], ["a"]]);
  });
  it("keeps a batch with none picked (or none at all) as one run", () => {
    assert.deepEqual(splitAround(["a", "b"], alone), [["a", "b"]]);
    assert.deepEqual(splitAround([], alone), [[]]);
  });
});
