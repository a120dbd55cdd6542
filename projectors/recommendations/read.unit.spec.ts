import { test } from "node:test";
import assert from "node:assert/strict";
import { conditionalCooccurrence } from "./read.ts";

test("online co-occurrence is read as P(neighbour | item): the count shared over the item's own count", () => {
  assert.equal(conditionalCooccurrence(3, 4), 0.75);
  assert.equal(conditionalCooccurrence(10, 100), 0.1);
  assert.equal(conditionalCooccurrence(0, 4), 0);
  assert.equal(conditionalCooccurrence(2, 0), 0, "an item without a count has no neighbours to weigh");
  // A popular neighbour keeps its weight (cosine would divide it by √cnt(j)): only the seed's count matters.
  assert.equal(conditionalCooccurrence(20, 25), 0.8);
  assert.equal(conditionalCooccurrence(5, 4), 1, "never above 1 (a count read before its pair count)");
});
