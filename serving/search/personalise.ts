import type { SearchHit } from "../../projectors/search/read.ts";
import type { ItemId, ScoredItem } from "../recommender/types.ts";
import {
  categoryAffinity,
  FEATURE_COUNT,
  writeFeatureRow,
  type CandidateSignals,
} from "../ranking/features.ts";
import type { RankingDeps } from "../ranking/rank.ts";

/** Where a search hit's place comes from, as the API reports it: the text alone, or a signal of the user's. */
export type SearchSource = "search" | "neighbours" | "affinity" | "trending" | "popular";

export interface ScoredHit {
  hit: SearchHit;
  score: number;
  source: SearchSource;
}

/**
 * Combines the text and the ranker: score = relevance / best relevance among the hits (0..1) + 1 / place in the
 * ranker's order (1, ½, ⅓ …). Among hits the text ranks alike the ranker decides; a much better text match
 * stays ahead of a hit the ranker merely prefers; the ranker's own scale (an ONNX model's, the heuristic's) does
 * not matter, only its order. Ranker ties keep the text order. Pure.
 */
export function fuseScores(hits: readonly SearchHit[], rankerScores: ArrayLike<number>): number[] {
  const byRanker = hits.map((_, i) => i).sort((a, b) => rankerScores[b]! - rankerScores[a]! || a - b);
  const rankerPlace = new Array<number>(hits.length);
  byRanker.forEach((hitIndex, place) => (rankerPlace[hitIndex] = place + 1));
  const best = hits.reduce((m, h) => Math.max(m, h.relevance), 0);
  return hits.map((h, i) => (best > 0 ? h.relevance / best : 0) + 1 / rankerPlace[i]!);
}

/** The strongest personal signal behind a hit, in the order serving's candidate sources use. */
export function sourceOf(s: CandidateSignals): SearchSource {
  if (s.retrievalRank !== undefined) return "neighbours";
  if (s.categoryAffinity > 0) return "affinity";
  if (s.trendingRank !== undefined) return "trending";
  if (s.popularRank !== undefined) return "popular";
  return "search";
}

const NO_NEIGHBOURS: readonly ScoredItem[] = [];
const listRanks = new WeakMap<readonly ScoredItem[], Map<ItemId, number>>();
/**
 * Item → position in a list (the last position of a repeated item). Trending and popularity lists are the same
 * array objects while serving caches them, so their maps are built once per list, not once per request.
 */
function ranks(list: readonly ScoredItem[]): Map<ItemId, number> {
  let m = listRanks.get(list);
  if (!m) {
    m = new Map();
    for (let i = 0; i < list.length; i++) m.set(list[i]!.item_id, i);
    listRanks.set(list, m);
  }
  return m;
}

/**
 * Per candidate, the sum of its scores in the seeds' neighbour lists (seeds themselves left out), in the order
 * the seeds and their lists give. Pure.
 */
function retrievalScores(
  seeds: readonly ItemId[],
  neighbours: ReadonlyMap<ItemId, readonly ScoredItem[]>,
): Map<ItemId, number> {
  const isSeed = new Set(seeds);
  const scores = new Map<ItemId, number>();
  for (const seed of seeds)
    for (const { item_id, score } of neighbours.get(seed) ?? [])
      if (!isSeed.has(item_id)) scores.set(item_id, (scores.get(item_id) ?? 0) + score);
  return scores;
}

const byIdAsc = (a: ItemId, b: ItemId) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The neighbour retrieval recommend() starts from: per candidate, the sum of its scores in the seeds' neighbour
 * lists, best first (ties by item id). Without recommend()'s catalog checks (which read every candidate's facts):
 * the hits it is matched against already passed search's filters. Pure.
 */
export function neighbourRetrieval(
  seeds: readonly ItemId[],
  neighbours: ReadonlyMap<ItemId, readonly ScoredItem[]>,
): ScoredItem[] {
  return [...retrievalScores(seeds, neighbours)]
    .map(([item_id, score]) => ({ item_id, score }))
    .sort((a, b) => b.score - a.score || byIdAsc(a.item_id, b.item_id));
}

/** How many of `sorted` (ascending) are greater than `x`. */
function countAbove(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return sorted.length - lo;
}

/**
 * The places (0-based) `wanted` items hold in neighbourRetrieval(seeds, neighbours), without ordering the whole
 * retrieval: a seed's neighbours run to hundreds of candidates while a search scores at most its hit pool. A
 * place is the count of candidates scoring higher plus those scoring the same with a smaller id. Items the
 * retrieval does not reach are left out. Pure.
 */
export function retrievalPlaces(
  seeds: readonly ItemId[],
  neighbours: ReadonlyMap<ItemId, readonly ScoredItem[]>,
  wanted: readonly ItemId[],
): Map<ItemId, number> {
  const scores = retrievalScores(seeds, neighbours);
  const places = new Map<ItemId, number>();
  const found = wanted.filter((id) => scores.has(id));
  if (found.length === 0) return places;
  const sorted = Float64Array.from(scores.values()).sort();
  const tied = new Map<number, ItemId[]>();
  for (const id of found) {
    const s = scores.get(id)!;
    const above = countAbove(sorted, s);
    // sorted[upTo - 1] is s; a tie when the value before it is s too: only then are ids compared.
    const upTo = sorted.length - above;
    if (upTo < 2 || sorted[upTo - 2] !== s) places.set(id, above);
    else tied.set(s, []);
  }
  if (tied.size > 0) {
    for (const [id, s] of scores) tied.get(s)?.push(id);
    for (const group of tied.values()) group.sort(byIdAsc);
    for (const id of found) {
      const s = scores.get(id)!;
      const group = tied.get(s);
      if (group) places.set(id, countAbove(sorted, s) + group.indexOf(id));
    }
  }
  return places;
}

/**
 * Re-ranks text hits (best first) for a user with the signals recommendations use: the neighbours of the user's
 * recent items and of the last one, trending and popularity places, the user's category affinity, scored by the
 * active ranker in one batched call, then fused with the text relevance (fuseScores).
 */
export async function personalise(
  deps: RankingDeps,
  userId: string,
  hits: readonly SearchHit[],
): Promise<ScoredHit[]> {
  if (hits.length === 0) return [];
  const ranker = deps.ranker();
  const user = await deps.features.getRankingState(userId);
  const history = [...new Set(user.recent.map((r) => r.item_id))];
  const artifact = (await deps.readModel.activeArtifact()) ?? ranker.artifactVersion;
  const view = deps.readModel.at(artifact, history, user.recent);
  // As deep as serving's retrieval lists go (RECKON_CANDIDATE_POOL): a hit beyond them has no rank signal there either.
  const depth = deps.config.pool;
  const seeds = history.slice(0, deps.config.historySeeds);
  const [neighbours, trending, popular] = await Promise.all([
    seeds.length > 0 ? view.itemNeighbours(seeds) : Promise.resolve(new Map<ItemId, readonly ScoredItem[]>()),
    view.trendingItems(depth),
    view.popularItems(depth),
  ]);
  const retrievalRank = retrievalPlaces(
    seeds,
    neighbours,
    hits.map((h) => h.item_id),
  );
  const lastItemRank = ranks(neighbours.get(history[0]!) ?? NO_NEIGHBOURS);
  const trendingRank = ranks(trending);
  const popularRank = ranks(popular);
  const affinities = new Map(user.affinities.map((a) => [a.category, a.score]));
  const affinityTotal = user.affinities.reduce((s, a) => s + a.score, 0);
  const signals: CandidateSignals[] = hits.map((h) => ({
    retrievalRank: retrievalRank.get(h.item_id),
    lastItemRank: lastItemRank.get(h.item_id),
    trendingRank: trendingRank.get(h.item_id),
    popularRank: popularRank.get(h.item_id),
    categoryAffinity: categoryAffinity(h.categories, affinities, affinityTotal),
  }));
  const rows = new Float32Array(hits.length * FEATURE_COUNT);
  signals.forEach((s, i) => writeFeatureRow(s, rows, i * FEATURE_COUNT));
  const fused = fuseScores(hits, await ranker.score(rows, hits.length));
  return hits
    .map((hit, i) => ({ hit, score: fused[i]!, source: sourceOf(signals[i]!) }))
    .sort(
      (a, b) =>
        b.score - a.score || (a.hit.item_id < b.hit.item_id ? -1 : a.hit.item_id > b.hit.item_id ? 1 : 0),
    );
}
