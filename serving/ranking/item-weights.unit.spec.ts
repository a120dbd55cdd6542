import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byPosition, weightedListSums } from "./item-weights.ts";

/** The computation weightedListSums replaces: a Map summed in list order, divided by the best positive sum. */
function mapSums(lists: { item_id: string; score: number }[][], weights: number[]): Map<string, number> {
  const m = new Map<string, number>();
  let best = 0;
  lists.forEach((list, l) => {
    for (const n of list) {
      const w = (m.get(n.item_id) ?? 0) + weights[l]! * n.score;
      m.set(n.item_id, w);
      if (w > best) best = w;
    }
  });
  if (best > 0) for (const [id, w] of m) m.set(id, w / best);
  return m;
}

describe("weightedListSums", () => {
  it("sums weighted scores per item over the lists and divides by the best sum", () => {
    const sums = weightedListSums(
      [
        [
          { item_id: "b", score: 0.6 },
          { item_id: "a", score: 0.5 },
        ],
        [
          { item_id: "b", score: 0.4 },
          { item_id: "c", score: 0.3 },
        ],
      ],
      [1, 0.5],
    );
    // b 0.6 + 0.5·0.4 = 0.8 (the best), a 0.5, c 0.15.
    assert.deepEqual(
      [...sums],
      [
        ["b", 1],
        ["a", 0.5 / 0.8],
        ["c", 0.15 / 0.8],
      ],
    );
    assert.equal(sums.get("a"), 0.625);
    assert.equal(sums.get("z"), undefined);
    assert.equal(sums.has("c"), true);
    assert.equal(sums.has("z"), false);
    assert.equal(sums.size, 3);
  });

  it("leaves the sums undivided when none is positive, and is empty for no lists", () => {
    const sums = weightedListSums([[{ item_id: "x", score: -0.5 }], [{ item_id: "y", score: 0 }]], [1, 1]);
    assert.deepEqual(Object.fromEntries(sums), { x: -0.5, y: 0 });
    assert.equal(weightedListSums([], []).size, 0);
  });

  it("gives exactly the numbers of the Map computation on many overlapping lists", () => {
    let seed = 7;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const lists = Array.from({ length: 10 }, () =>
      Array.from({ length: 100 }, () => ({ item_id: `i${Math.floor(rand() * 300)}`, score: rand() - 0.1 })),
    );
    const weights = lists.map((_, p) => Math.pow(2, -p / 2));
    const expected = mapSums(lists, weights);
    const sums = weightedListSums(lists, weights);
    assert.deepEqual([...sums], [...expected]); // same keys, same order, bit-identical values
    for (const id of expected.keys()) assert.equal(sums.get(id), expected.get(id));
  });
  it("keeps each map's own numbers when computations interleave (they share one summing table)", () => {
    let seed = 11;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const lists = (count: number, length: number, ids: number) =>
      Array.from({ length: count }, () =>
        Array.from({ length }, () => ({ item_id: `i${Math.floor(rand() * ids)}`, score: rand() })),
      );
    const small = lists(3, 20, 50);
    const large = lists(10, 200, 3000); // grows the shared table while `small`'s map is alive
    const weights = (n: number) => Array.from({ length: n }, (_, p) => Math.pow(2, -p / 2));
    const a = weightedListSums(small, weights(3));
    const b = weightedListSums(large, weights(10));
    const expectedA = mapSums(small, weights(3));
    const expectedB = mapSums(large, weights(10));
    for (const id of expectedA.keys()) {
      assert.equal(a.get(id), expectedA.get(id));
      assert.equal(b.get(id), expectedB.get(id)); // absent from `large` or not: each map answers for itself
    }
    // Iterating one map while reading the other inside the loop.
    const seen: [string, number][] = [];
    for (const [id, v] of a) {
      seen.push([id, v]);
      b.get(id);
    }
    assert.deepEqual(seen, [...expectedA]);
    assert.equal(a.size, expectedA.size);
    assert.deepEqual([...b], [...expectedB]);
    assert.equal(a.has("nowhere"), false);
  });
});

describe("byPosition", () => {
  it("maps each key's position through f", () => {
    const positions = new Map([
      ["b", 0],
      ["a", 1],
    ]);
    const depth = byPosition(positions, (i) => 1 - i / 4);
    assert.deepEqual(
      [...depth],
      [
        ["b", 1],
        ["a", 0.75],
      ],
    );
    assert.equal(depth.get("a"), 0.75);
    assert.equal(depth.get("z"), undefined);
    assert.equal(depth.size, 2);
  });
});
