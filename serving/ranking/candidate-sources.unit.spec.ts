import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RankingState } from "../../projectors/features/read.ts";
import { InMemoryReadModel } from "../recommender/memory-read-model.ts";
import type { ScoredItem } from "../recommender/types.ts";
import {
  CANDIDATE_SOURCES,
  nextItems,
  type CandidateView,
  type RetrievalContext,
  type SourceCandidates,
} from "./candidate-sources.ts";
import type { ServingConfig } from "./config.ts";

const scored = (...ids: string[]): ScoredItem[] => ids.map((item_id, i) => ({ item_id, score: 10 - i }));

/** A user who did i1 (most recent) then i2, with books as their top category, over a small in-memory view. */
function context(history: string[], categories: string[] = ["music"]): RetrievalContext {
  const byCategory: Record<string, ScoredItem[]> = { books: scored("k1", "a"), music: scored("m1") };
  const view: CandidateView = Object.assign(
    new InMemoryReadModel({
      histories: new Map([["u", history]]),
      neighbours: new Map([
        [
          "i1",
          [
            { item_id: "b", score: 0.6 },
            { item_id: "a", score: 0.5 },
          ],
        ],
        [
          "i2",
          [
            { item_id: "b", score: 0.4 },
            { item_id: "c", score: 0.3 },
          ],
        ],
      ]),
      itemBias: new Map(),
      followers: new Map([
        [
          "i1",
          [
            { item_id: "x", score: 0.6 },
            { item_id: "b", score: 0.3 },
          ],
        ],
        [
          "i2",
          [
            { item_id: "x", score: 0.2 },
            { item_id: "y", score: 0.5 },
          ],
        ],
      ]),
      popular: scored("p1", "a", "p2"),
      trending: scored("t1", "b", "t2"),
    }),
    { trendingIn: async (category: string, limit: number) => (byCategory[category] ?? []).slice(0, limit) },
  );
  const user: RankingState = {
    recent: history.map((item_id, i) => ({ item_id, type: "view", atMs: 1000 - i })),
    affinities: [{ category: "books", score: 2 }],
  };
  return {
    userId: "u",
    config: { perSource: 2, historySeeds: 10 } as ServingConfig,
    view,
    user,
    history,
    blocked: new Set(),
    categories,
    pool: 5,
  };
}

const proposals = (s: SourceCandidates) => s.proposed.map((p) => `${p.item_id}:${p.source}`);
const signal = (s: SourceCandidates) =>
  s.signal && { name: s.signal.name, rank: Object.fromEntries(s.signal.rank) };

describe("candidate sources", () => {
  it("each proposes its list in order and names the rank signal it feeds", async () => {
    const [itemToItem, lastItem, affinity, requested, trending, popular] = await Promise.all(
      CANDIDATE_SOURCES.map((source) => source(context(["i1", "i2"]))),
    );
    // Neighbours of i1 and i2 summed (b 1.0, a 0.5, c 0.3), then recommend() fills the pool of 5 from popular.
    assert.deepEqual(proposals(itemToItem!), [
      "b:neighbours",
      "a:neighbours",
      "c:neighbours",
      "p1:popular",
      "p2:popular",
    ]);
    assert.deepEqual(signal(itemToItem!), { name: "retrievalRank", rank: { b: 0, a: 1, c: 2 } });
    assert.deepEqual(proposals(lastItem!), ["b:neighbours", "a:neighbours"]);
    assert.deepEqual(signal(lastItem!), { name: "lastItemRank", rank: { b: 0, a: 1 } });
    assert.deepEqual(proposals(affinity!), ["k1:affinity", "a:affinity"]);
    assert.equal(affinity!.signal, undefined);
    assert.deepEqual(proposals(requested!), ["m1:trending"]);
    assert.deepEqual(proposals(trending!), ["t1:trending", "b:trending"]);
    assert.deepEqual(signal(trending!), { name: "trendingRank", rank: { t1: 0, b: 1, t2: 2 } });
    assert.deepEqual(proposals(popular!), ["p1:popular", "a:popular"]);
    assert.deepEqual(signal(popular!), { name: "popularRank", rank: { p1: 0, a: 1, p2: 2 } });
  });

  it("feeds the value features: retrieval score and depth, recency-weighted neighbours, popularity share", async () => {
    const [itemToItem, lastItem, , , , popular] = await Promise.all(
      CANDIDATE_SOURCES.map((source) => source(context(["i1", "i2"]))),
    );
    const values = (s: SourceCandidates) =>
      Object.fromEntries(
        (s.values ?? []).map((v) => [
          v.name,
          Object.fromEntries([...v.value].map(([id, x]) => [id, Number(x.toFixed(6))])),
        ]),
      );
    // Scores over the best (b 1.0); depth 1 − rank/pool with a pool of 5.
    assert.deepEqual(values(itemToItem!), {
      retrievalScore: { b: 1, a: 0.5, c: 0.3 },
      retrievalDepth: { b: 1, a: 0.8, c: 0.6 },
    });
    // i1 weighs 1, i2 (one step older) 2^(−1/2): b 0.6 + 0.4·0.707107 = 0.882843 (the best), a 0.5, c 0.3·0.707107.
    assert.deepEqual(values(lastItem!), {
      recentNeighbours: { b: 1, a: 0.566352, c: 0.240283 },
    });
    // log(1 + score) over log(1 + 10): popular scores 10, 9, 8.
    assert.deepEqual(values(popular!), { popularity: { p1: 1, a: 0.960253, p2: 0.916314 } });
  });

  it("proposes what users took after the latest items and feeds every follower's transition score", async () => {
    const next = await nextItems(context(["i1", "i2"]));
    // i1 weighs 1, i2 2^(−1/3): x 0.6 + 0.2·0.793701 = 0.758740 (the best), y 0.5·0.793701, b 0.3; two proposed.
    assert.deepEqual(proposals(next), ["x:neighbours", "y:neighbours"]);
    assert.equal(next.signal, undefined);
    assert.deepEqual(
      (next.values ?? []).map((v) => [
        v.name,
        Object.fromEntries([...v.value].map(([id, s]) => [id, Number(s.toFixed(6))])),
      ]),
      [["transitionScore", { x: 1, y: 0.523038, b: 0.395392 }]],
    );
    // Blocked items are neither proposed nor scored, and the best is taken over what is left.
    const blocked = await nextItems({ ...context(["i1", "i2"]), blocked: new Set(["x"]) });
    assert.deepEqual(proposals(blocked), ["y:neighbours", "b:neighbours"]);
    assert.equal(blocked.values?.[0]?.value.get("y"), 1);
  });

  it("proposes no neighbours for a user without history", async () => {
    const [itemToItem, lastItem] = await Promise.all(
      CANDIDATE_SOURCES.map((source) => source(context([], []))),
    );
    assert.deepEqual(proposals(itemToItem!), []);
    assert.deepEqual(proposals(lastItem!), []);
    assert.deepEqual(proposals(await nextItems(context([], []))), []);
  });
});
