import { test } from "node:test";
import assert from "node:assert/strict";
import { InMemoryReadModel } from "../recommender/memory-read-model.ts";
import { DEFAULT_SERVING_CONFIG } from "../ranking/config.ts";
import type { CandidateView } from "../ranking/candidate-sources.ts";
import { FEATURE_COUNT } from "../ranking/features.ts";
import type { Ranker } from "./model-holder.ts";
import type { HeldOutUser } from "./held-out-lists.ts";
import { gateDecision, listQuality, type ProtocolQuality } from "./list-gate.ts";
import { evaluateScores } from "./train.ts";

// One held-out user who watched "h"; retrieval offers c0..c99 (c0 best); the user took c0 and c1 next.
function heldOutUser(): HeldOutUser {
  const neighbours = new Map([
    ["h", Array.from({ length: 100 }, (_, i) => ({ item_id: `c${i}`, score: 100 - i }))],
  ]);
  const base = new InMemoryReadModel({ histories: new Map([["u", ["h"]]]), neighbours, popular: [] });
  const view: CandidateView = Object.assign(base, { trendingIn: async () => [] });
  return {
    userId: "u",
    fit: false,
    relevant: new Set(["c0", "c1"]),
    context: {
      userId: "u",
      config: DEFAULT_SERVING_CONFIG,
      view,
      user: { recent: [{ item_id: "h", type: "view", atMs: 0 }], affinities: [] },
      history: ["h"],
      blocked: new Set(["h"]),
      categories: [],
      pool: 100,
    },
  };
}

/** A ranker that scores a candidate by its retrieval rank (recovered from the retrieval_rr feature). */
function byRetrievalRank(score: (rank: number) => number): Ranker {
  return {
    version: null,
    artifactVersion: null,
    async score(rows, count) {
      return Float64Array.from({ length: count }, (_, i) =>
        score(Math.round(1 / rows[i * FEATURE_COUNT]! - 1)),
      );
    },
  };
}

// Orders almost every pair right but puts both taken items just below the tenth place.
const goodAucBadList = byRetrievalRank((rank) => (rank <= 1 ? -(11.5 + rank) : -rank));
// Puts one taken item first and the other last: half the pairs wrong, but the list's top holds a hit.
const badAucGoodList = byRetrievalRank((rank) => (rank === 0 ? 1000 : rank === 1 ? -1000 : -rank));

test("a ranker better by AUC and worse by the list it serves is refused by the gate", async () => {
  const users = [heldOutUser()];
  const rows = new Float32Array(100 * FEATURE_COUNT);
  for (let r = 0; r < 100; r++) rows[r * FEATURE_COUNT] = 1 / (1 + r);
  const examples = Array.from({ length: 100 }, (_, r) => ({ group: 0, label: r <= 1 ? 1 : 0 }));
  const aucCandidate = evaluateScores(examples, await goodAucBadList.score(rows, 100)).auc;
  const aucCurrent = evaluateScores(examples, await badAucGoodList.score(rows, 100)).auc;
  assert.equal(aucCandidate, 0.8929); // (88 + 87) / (2 · 98)
  assert.equal(aucCurrent, 0.5); // (98 + 0) / (2 · 98)

  const candidate = await listQuality(goodAucBadList, users, 10);
  const current = await listQuality(badAucGoodList, users, 10);
  assert.deepEqual(candidate, { ndcg: 0, recall: 0, users: 1 });
  assert.deepEqual(current, { ndcg: 0.6131, recall: 0.5, users: 1 }); // 1 / (1 + 1/log2 3)
  const both = (q: typeof candidate): ProtocolQuality => ({ random: q, temporal: q });
  const decision = gateDecision(both(candidate), both(current), "active model 1");
  assert.equal(decision.activate, false);
  assert.equal(
    decision.reason,
    "does not beat active model 1: random nDCG@10 0 ≤ 0.6131; random recall@10 0 < 0.5; " +
      "temporal nDCG@10 0 ≤ 0.6131; temporal recall@10 0 < 0.5",
  );
  assert.equal(gateDecision(both(current), both(candidate), "active model 1").activate, true);
});

test("the gate wants a higher nDCG@10 and no lower recall@10 on every protocol; ties keep what runs", () => {
  const q = (ndcg: number, recall: number) => ({ ndcg, recall, users: 100 });
  const current: ProtocolQuality = { random: q(0.4, 0.16), temporal: q(0.15, 0.07) };
  assert.deepEqual(
    gateDecision({ random: q(0.41, 0.16), temporal: q(0.16, 0.08) }, current, "the heuristic ranker"),
    {
      activate: true,
      reason:
        "beats the heuristic ranker: random nDCG@10 0.41 > 0.4; random recall@10 0.16 ≥ 0.16; " +
        "temporal nDCG@10 0.16 > 0.15; temporal recall@10 0.08 ≥ 0.07",
    },
  );
  assert.equal(
    gateDecision({ random: q(0.41, 0.17), temporal: q(0.15, 0.08) }, current, "x").activate,
    false,
    "a tie",
  );
  assert.equal(gateDecision({ random: q(0.5, 0.15), temporal: q(0.2, 0.08) }, current, "x").activate, false);
  assert.equal(
    gateDecision({ random: q(0.5, 0.2), temporal: q(Number.NaN, 0) }, current, "x").reason,
    "does not beat x: temporal: no held-out users to measure",
  );
});
