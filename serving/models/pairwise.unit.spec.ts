import { test } from "node:test";
import assert from "node:assert/strict";
import { trainPairwise, weightedPairs } from "./pairwise.ts";

// One user, three candidates in prior order (feature 0 descending); they took the second.
const group = {
  rows: Float32Array.from([0.9, 0, 0.5, 1, 0.1, 0]),
  labels: [0, 1, 0],
};
const prior = (row: Float32Array) => row[0]!;

test("pairs are (taken − other) differences weighted by the nDCG change of swapping them in the prior order", () => {
  const pairs = weightedPairs([group], 2, { prior });
  assert.equal(pairs.count, 2);
  assert.deepEqual(
    Array.from(pairs.diffs, (x) => Number(x.toFixed(4))),
    [-0.4, 1, 0.4, 1],
  );
  // ranks 1 vs 0: |1/log2 3 − 1/log2 2| = 0.369070; ranks 1 vs 2: |1/log2 3 − 1/log2 4| = 0.130930.
  assert.deepEqual(
    Array.from(pairs.weights, (w) => Number(w.toFixed(6))),
    [0.36907, 0.13093],
  );
  assert.equal(weightedPairs([group], 2, { prior, maxPairs: 1 }).count, 1, "the heaviest pair is kept");
});

test("the fitted ranker puts the taken item first, on the feature that tells it apart", () => {
  const model = trainPairwise([group], ["retrieval", "signal"], { prior });
  assert.equal(model.bias, 0);
  assert.ok(model.weights[1]! > 0, `signal weight ${model.weights[1]}`);
  const score = (i: number) =>
    model.weights[0]! * group.rows[2 * i]! + model.weights[1]! * group.rows[2 * i + 1]!;
  assert.ok(score(1) > score(0) && score(1) > score(2));
  assert.throws(
    () => trainPairwise([{ rows: group.rows, labels: [0, 0, 0] }], ["a", "b"], { prior }),
    /no ranking pairs/,
  );
});
