import { test } from "node:test";
import assert from "node:assert/strict";
import type { SearchHit } from "../../projectors/search/read.ts";
import { fuseScores, neighbourRetrieval, retrievalPlaces, sourceOf } from "./personalise.ts";

const hit = (item_id: string, relevance: number): SearchHit => ({
  item_id,
  title: item_id,
  categories: [],
  attributes: {},
  available: true,
  relevance,
});

test("fusion: relevance / best relevance + 1 / ranker place; ranker ties keep the text order", () => {
  const hits = [hit("a", 2), hit("b", 2), hit("c", 1)];
  assert.deepEqual(fuseScores(hits, [0, 0, 0]), [1 + 1, 1 + 1 / 2, 0.5 + 1 / 3]);
  // The ranker prefers b, then c, then a: b overtakes a, which the text ranked alike.
  assert.deepEqual(fuseScores(hits, [0.1, 0.9, 0.5]), [1 + 1 / 3, 1 + 1, 0.5 + 1 / 2]);
  // Without words (relevance 0 everywhere) the ranker's order alone.
  assert.deepEqual(fuseScores([hit("a", 0), hit("b", 0)], [0.2, 0.4]), [1 / 2, 1]);
});

test("source: the strongest personal signal, else the text", () => {
  assert.equal(sourceOf({ retrievalRank: 3, categoryAffinity: 0.5 }), "neighbours");
  assert.equal(sourceOf({ trendingRank: 1, categoryAffinity: 0.5 }), "affinity");
  assert.equal(sourceOf({ trendingRank: 1, popularRank: 0, categoryAffinity: 0 }), "trending");
  assert.equal(sourceOf({ popularRank: 0, categoryAffinity: 0 }), "popular");
  assert.equal(sourceOf({ categoryAffinity: 0 }), "search");
});

test("neighbour retrieval: scores summed over the seeds, best first, the seeds themselves left out", () => {
  const lists = new Map([
    [
      "s1",
      [
        { item_id: "a", score: 0.5 },
        { item_id: "b", score: 0.4 },
        { item_id: "s2", score: 0.9 },
      ],
    ],
    [
      "s2",
      [
        { item_id: "b", score: 0.3 },
        { item_id: "c", score: 0.2 },
      ],
    ],
  ]);
  assert.deepEqual(neighbourRetrieval(["s1", "s2"], lists), [
    { item_id: "b", score: 0.4 + 0.3 },
    { item_id: "a", score: 0.5 },
    { item_id: "c", score: 0.2 },
  ]);
  assert.deepEqual(neighbourRetrieval([], lists), []);
});

test("retrieval places: each wanted item's place in the retrieval order, ties by item id, unreached left out", () => {
  const lists = new Map([
    [
      "s1",
      [
        { item_id: "d", score: 0.25 },
        { item_id: "a", score: 0.5 },
        { item_id: "c", score: 0.25 },
        { item_id: "s2", score: 0.9 },
      ],
    ],
    [
      "s2",
      [
        { item_id: "b", score: 0.5 },
        { item_id: "e", score: 0.125 },
        { item_id: "f", score: 1 },
      ],
    ],
  ]);
  // Order: f 1, a 0.5, b 0.5, c 0.25, d 0.25, e 0.125 (s2 is a seed, so never a candidate).
  assert.deepEqual(
    [...retrievalPlaces(["s1", "s2"], lists, ["e", "b", "zz", "d", "f", "a", "s2", "c"])],
    [
      ["e", 5],
      ["f", 0],
      ["b", 2],
      ["d", 4],
      ["a", 1],
      ["c", 3],
    ],
  );
  assert.deepEqual([...retrievalPlaces(["s1"], lists, ["x"])], []);
  assert.deepEqual([...retrievalPlaces([], lists, ["a"])], []);
});

test("retrieval places agree with the full retrieval order on many lists with repeated scores", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const items = Array.from({ length: 300 }, (_, i) => `i${i}`);
  const seeds = items.slice(0, 20);
  const lists = new Map(
    seeds.map((s) => [
      s,
      Array.from({ length: 50 }, () => ({
        item_id: items[Math.floor(rand() * items.length)]!,
        score: Math.ceil(rand() * 4) / 8,
      })),
    ]),
  );
  const order = neighbourRetrieval(seeds, lists);
  const expected = new Map(order.map((x, i) => [x.item_id, i]));
  const got = retrievalPlaces(seeds, lists, items);
  assert.equal(got.size, expected.size);
  for (const [id, place] of expected) assert.equal(got.get(id), place, id);
});
