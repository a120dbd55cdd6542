import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  countFollowers,
  followersFromLog,
  nextItemScores,
  nextItemSignal,
  sequencesByFirstTouch,
} from "./transitions.ts";

const round = (list: readonly { item_id: string; score: number }[]) =>
  list.map(({ item_id, score }) => `${item_id}:${Number(score.toFixed(6))}`);
const rounded = (m: ReadonlyMap<string, readonly { item_id: string; score: number }[]>) =>
  Object.fromEntries([...m].map(([id, list]) => [id, round(list)]));

describe("followers", () => {
  it("orders each user's distinct items by their first interaction, ties by item id", () => {
    const seqs = sequencesByFirstTouch([
      { userId: "u1", itemId: "x", timestamp: 5 },
      { userId: "u1", itemId: "y", timestamp: 3 },
      { userId: "u1", itemId: "x", timestamp: 1 },
      { userId: "u1", itemId: "z", timestamp: 3 },
      { userId: "u2", itemId: "y", timestamp: 9 },
    ]);
    assert.deepEqual(Object.fromEntries(seqs), { u1: ["x", "y", "z"], u2: ["y"] });
  });

  it("counts followers within the window, weighted d^(−exponent), over the sequences holding the item", () => {
    // a: (b at 1) + (c at 2: 1/2) in the first sequence, (c at 1) in the second; a is in 3 sequences.
    // b: (c at 1) twice, (a at 2: 1/2) once; b is in 2. c: (a at 1) once; c is in 3.
    const followers = countFollowers(
      [
        ["a", "b", "c"],
        ["a", "c"],
        ["b", "c", "a"],
      ],
      { window: 2, distanceExponent: 1, keep: 10, popularityExponent: 0 },
    );
    assert.deepEqual(rounded(followers), {
      a: ["c:0.5", "b:0.333333"],
      b: ["c:1", "a:0.25"],
      c: ["a:0.333333"],
    });
  });

  it("divides each follower's score by its own count to the popularity exponent", () => {
    // As above, then over count(j)^1 (a 3, b 2, c 3): a→c 0.5/3 ties a→b 0.333333/2 (b first by id).
    const followers = countFollowers(
      [
        ["a", "b", "c"],
        ["a", "c"],
        ["b", "c", "a"],
      ],
      { window: 2, distanceExponent: 1, keep: 10, popularityExponent: 1 },
    );
    assert.deepEqual(rounded(followers), {
      a: ["b:0.166667", "c:0.166667"],
      b: ["c:0.333333", "a:0.083333"],
      c: ["a:0.111111"],
    });
  });

  it("keeps only the window, breaks ties by id and cuts each list to `keep`", () => {
    const followers = countFollowers(
      [
        ["a", "c", "d"],
        ["a", "b"],
      ],
      { window: 1, distanceExponent: 0.5, keep: 1, popularityExponent: 0 },
    );
    // a is followed by c and by b once each (ties: b first, and keep 1 drops c); d is two places after a.
    assert.deepEqual(rounded(followers), { a: ["b:0.5"], c: ["d:1"] });
  });

  it("builds the same lists from a log as from its sequences", () => {
    const log = [
      { userId: "u", itemId: "a", timestamp: 1 },
      { userId: "u", itemId: "b", timestamp: 2 },
      { userId: "v", itemId: "b", timestamp: 1 },
      { userId: "v", itemId: "a", timestamp: 2 },
    ];
    const options = { window: 3, distanceExponent: 0.5, keep: 5, popularityExponent: 0 };
    // u took a then b, v took b then a: each item is in 2 sequences and followed by the other in one.
    assert.deepEqual(rounded(followersFromLog(log, options)), { a: ["b:0.5"], b: ["a:0.5"] });
  });
});

describe("next-item scores", () => {
  const followers = new Map([
    [
      "a",
      [
        { item_id: "b", score: 0.5 },
        { item_id: "c", score: 0.25 },
      ],
    ],
    ["b", [{ item_id: "c", score: 1 }]],
  ]);

  it("sums the followers of the latest items, each weighted 2^(−position/halfLife), over the best", () => {
    // Recent b (weight 1) then a (weight 1/2): c = 1 + 0.25/2 = 1.125 (the best), b = 0.5/2 = 0.25.
    assert.deepEqual(round(nextItemScores(followers, ["b", "a"], new Set(), 1)), ["c:1", "b:0.222222"]);
    // With a half-life of 2, a weighs 2^(−1/2): c = 1 + 0.25·0.707107 = 1.176777, b = 0.5·0.707107 = 0.353553.
    assert.deepEqual(round(nextItemScores(followers, ["b", "a"], new Set(), 2)), ["c:1", "b:0.300442"]);
  });

  it("leaves out excluded items before normalising, and gives nothing for items without followers", () => {
    assert.deepEqual(round(nextItemScores(followers, ["b", "a"], new Set(["c"]), 1)), ["b:1"]);
    assert.deepEqual(nextItemScores(followers, ["z"]), []);
    assert.deepEqual(nextItemScores(followers, []), []);
  });

  it("serving's top and values are nextItemScores' first items and scores, the cut falling inside a tie by id", () => {
    // Seed s: x and w tie at 0.5 (ids order them w, x), y 1, v 0.25, z blocked.
    const tied = new Map([
      [
        "s",
        [
          { item_id: "y", score: 1 },
          { item_id: "x", score: 0.5 },
          { item_id: "w", score: 0.5 },
          { item_id: "v", score: 0.25 },
          { item_id: "z", score: 2 },
        ],
      ],
    ]);
    const blocked = new Set(["z"]);
    const signal = nextItemSignal(tied, ["s"], blocked, 2);
    assert.deepEqual(round(signal.top), ["y:1", "w:0.5"]);
    assert.deepEqual(round(nextItemScores(tied, ["s"], blocked).slice(0, 2)), round(signal.top));
    assert.deepEqual(Object.fromEntries(signal.values), { y: 1, x: 0.5, w: 0.5, v: 0.25 });
    assert.deepEqual(round(nextItemSignal(tied, ["s"], blocked, 10).top), [
      "y:1",
      "w:0.5",
      "x:0.5",
      "v:0.25",
    ]);
    assert.deepEqual(nextItemSignal(tied, ["s"], blocked, 0).top, []);
    assert.equal(nextItemSignal(followers, ["z"], new Set(), 5).values.size, 0);
  });
});
