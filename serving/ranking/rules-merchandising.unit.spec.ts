import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyWeights,
  choosePins,
  combinedFactor,
  placePins,
  type MerchCandidate,
  type PinDirective,
} from "./rules-merchandising.ts";
import { negativeFeedbackDemotions } from "./rules-negative-feedback.ts";

const c = (item_id: string, ...categories: string[]): MerchCandidate => ({ item_id, categories });
const ids = (list: readonly MerchCandidate[]) => list.map((x) => x.item_id);
// a..j, best first; vowels are "v", the rest "k"; b and c are also "promo".
const RANKED = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"].map((id) =>
  c(id, "aeiou".includes(id) ? "v" : "k", ...(id === "b" || id === "c" ? ["promo"] : [])),
);

test("a boost of 2 moves the 10th item to just after the 5th; a bury of 0.5 moves the 2nd to just before the 4th", () => {
  assert.deepEqual(ids(applyWeights(RANKED, [{ target: { item: "j" }, factor: 2 }])), [..."abcdejfghi"]);
  assert.deepEqual(ids(applyWeights(RANKED, [{ target: { item: "b" }, factor: 0.5 }])), [..."acbdefghij"]);
});

test("a category weight applies to every item in the category, and factors multiply", () => {
  // "v" (a e i) buried by 0.25: a competes at position 4 (before d, ranked first), e at 20, i at 36.
  assert.deepEqual(ids(applyWeights(RANKED, [{ target: { category: "v" }, factor: 0.25 }])), [
    ..."bcadfghjei",
  ]);
  // i: boosted 3 as an item and buried 0.5 as a vowel = 1.5 → competes at 9 / 1.5 = 6, just after f; a at 2 (before
  // b), e at 10 (before j).
  const weights = [
    { target: { item: "i" }, factor: 3 },
    { target: { category: "v" }, factor: 0.5 },
  ];
  assert.equal(combinedFactor(c("i", "v"), weights), 1.5);
  assert.deepEqual(ids(applyWeights(RANKED, weights)), [..."abcdfighej"]);
});

test("the combined factor is clamped to [0.01, 100]", () => {
  const huge = Array.from({ length: 5 }, () => ({ target: { item: "x" }, factor: 100 }));
  assert.equal(combinedFactor(c("x"), huge), 100);
  const tiny = Array.from({ length: 5 }, () => ({ target: { item: "x" }, factor: 0.01 }));
  assert.equal(combinedFactor(c("x"), tiny), 0.01);
  assert.equal(combinedFactor(c("y"), huge), 1);
});

test("pins: items go to their positions, category pins take the category's best item, ineligible ones drop", () => {
  const pins: PinDirective[] = [
    { target: { item: "z" }, position: 1 }, // not a candidate, eligible
    { target: { category: "promo" }, position: 3 }, // best promo: b
    { target: { item: "gone" }, position: 2 }, // not eligible: dropped
    { target: { category: "none" }, position: 4 }, // nothing in it: dropped
    { target: { item: "g" }, position: 11 }, // past n: dropped
  ];
  const eligible = new Map([["z", c("z", "k")], ...RANKED.map((x) => [x.item_id, x] as const)]);
  const placed = choosePins(
    pins,
    RANKED,
    10,
    (id) => eligible.get(id),
    () => [],
  );
  assert.deepEqual(
    placed.map((p) => [p.position, p.item.item_id]),
    [
      [1, "z"],
      [3, "b"],
    ],
  );
  const pinned = new Set(placed.map((p) => p.item.item_id));
  const rest = RANKED.filter((x) => !pinned.has(x.item_id));
  assert.deepEqual(ids(placePins(rest, placed, 6)), ["z", "a", "b", "c", "d", "e"]);
});

test("a category pin falls back to its list; two pins on one position: the first keeps it, the next slides", () => {
  const pins: PinDirective[] = [
    { target: { category: "new" }, position: 2 },
    { target: { item: "d" }, position: 2 },
    { target: { category: "promo" }, position: 2 },
  ];
  const placed = choosePins(
    pins,
    RANKED,
    5,
    (id) => RANKED.find((x) => x.item_id === id),
    (category) => (category === "new" ? [c("n1", "new"), c("n2", "new")] : []),
  );
  assert.deepEqual(
    placed.map((p) => [p.position, p.item.item_id]),
    [
      [2, "n1"],
      [2, "d"],
      [2, "b"],
    ],
  );
  const pinned = new Set(placed.map((p) => p.item.item_id));
  const rest = RANKED.filter((x) => !pinned.has(x.item_id));
  assert.deepEqual(ids(placePins(rest, placed, 5)), ["a", "n1", "d", "b", "c"]);
});

test("a pin beyond a short list follows its last item; no pins keeps the list", () => {
  const list = [c("a"), c("b")];
  assert.deepEqual(ids(placePins(list, [{ position: 5, item: c("p") }], 10)), ["a", "b", "p"]);
  assert.deepEqual(ids(placePins(list, [], 1)), ["a"]);
});

test("negative feedback: categories buried per dismissal (at most 3), neighbours of dismissals buried once", () => {
  const m = negativeFeedbackDemotions(
    {
      items: ["x1", "x2"],
      categories: new Map([
        ["horror", 5],
        ["drama", 1],
      ]),
    },
    new Map([
      ["x1", ["n1", "x2", "n2"]],
      ["x2", ["n2", "n3"]],
    ]),
    0.5,
  );
  assert.deepEqual(m.pins, []);
  assert.deepEqual(m.weights, [
    { target: { category: "horror" }, factor: 0.125 },
    { target: { category: "drama" }, factor: 0.5 },
    { target: { item: "n1" }, factor: 0.5 },
    { target: { item: "n2" }, factor: 0.5 },
    { target: { item: "n3" }, factor: 0.5 },
  ]);
  assert.deepEqual(negativeFeedbackDemotions({ items: ["x1"], categories: new Map() }, new Map(), 1), {
    pins: [],
    weights: [],
  });
});
