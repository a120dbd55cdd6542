import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDiversityCap, byScore, categoryCap, type Ranked } from "./rules.ts";

const r = (item_id: string, score: number, category?: string): Ranked => ({
  item_id,
  score,
  source: "neighbours",
  category,
});

test("the cap keeps at most k per category and fills from the next categories", () => {
  const sorted = [
    r("a", 9, "x"),
    r("b", 8, "x"),
    r("c", 7, "x"),
    r("d", 6, "y"),
    r("e", 5, undefined),
    r("f", 4, "y"),
  ];
  assert.deepEqual(
    applyDiversityCap(sorted, 4, 2).map((x) => x.item_id),
    ["a", "b", "d", "e"],
  );
});

test("capped-out items fill a list that would otherwise be short", () => {
  const sorted = [r("a", 9, "x"), r("b", 8, "x"), r("c", 7, "x"), r("d", 6, "y")];
  assert.deepEqual(
    applyDiversityCap(sorted, 4, 1).map((x) => x.item_id),
    ["a", "d", "b", "c"],
  );
});

test("ties rank by item id; the cap is a share of n, at least one", () => {
  assert.deepEqual(
    [r("b", 1), r("a", 1), r("c", 2)].sort(byScore).map((x) => x.item_id),
    ["c", "a", "b"],
  );
  assert.equal(categoryCap(10, 0.5), 5);
  assert.equal(categoryCap(3, 0.5), 2);
  assert.equal(categoryCap(1, 0.1), 1);
});
