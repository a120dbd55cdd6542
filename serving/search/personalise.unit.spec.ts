import { test } from "node:test";
import assert from "node:assert/strict";
import type { SearchHit } from "../../projectors/search/read.ts";
import { FUSION_K, fuseRanks, sourceOf } from "./personalise.ts";

const hit = (item_id: string): SearchHit => ({
  item_id,
  title: item_id,
  categories: [],
  attributes: {},
  available: true,
  relevance: 1,
});

test("rank fusion: 1/(K + text place) + 1/(K + ranker place); ranker ties keep the text order", () => {
  const hits = ["a", "b", "c"].map(hit);
  const k = FUSION_K;
  assert.deepEqual(fuseRanks(hits, [0, 0, 0]), [2 / (k + 1), 2 / (k + 2), 2 / (k + 3)]);
  // The ranker prefers c, then a, then b.
  assert.deepEqual(fuseRanks(hits, [0.5, 0.1, 0.9]), [
    1 / (k + 1) + 1 / (k + 2),
    1 / (k + 2) + 1 / (k + 3),
    1 / (k + 3) + 1 / (k + 1),
  ]);
});

test("source: the strongest personal signal, else the text", () => {
  assert.equal(sourceOf({ retrievalRank: 3, categoryAffinity: 0.5 }), "neighbours");
  assert.equal(sourceOf({ trendingRank: 1, categoryAffinity: 0.5 }), "affinity");
  assert.equal(sourceOf({ trendingRank: 1, popularRank: 0, categoryAffinity: 0 }), "trending");
  assert.equal(sourceOf({ popularRank: 0, categoryAffinity: 0 }), "popular");
  assert.equal(sourceOf({ categoryAffinity: 0 }), "search");
});
