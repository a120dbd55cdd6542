/**
 * The ranker's input: one row of FEATURE_NAMES.length float32 values per candidate, in this order. The same
 * function builds rows at request time (from Redis read models) and at training time (from the replayed log),
 * so a model sees identical definitions in both places. Every feature lies in [0, 1].
 *
 * Ranks are 0-based positions in a list; `rr` (reciprocal rank, 1/(1+rank)) is used instead of raw scores so
 * the feature means the same thing whichever retrieval model produced the list (EASE weights online,
 * co-occurrence counts in the training replay): see docs/architecture/serving.md ("The ranker"). Scores enter
 * normalised by the best score of their list, so they too mean the same under any retrieval model.
 */
export const FEATURE_NAMES = [
  "retrieval_rr",
  "last_item_rr",
  "trending_rr",
  "popular_rr",
  "category_affinity",
  "retrieval_score",
  "retrieval_depth",
  "recent_neighbours",
  "popularity",
  "transition_score",
] as const;

export const FEATURE_COUNT = FEATURE_NAMES.length;

export interface CandidateSignals {
  /** Position in the neighbour retrieval list over the user's recent items (absent: not retrieved). */
  retrievalRank?: number;
  /** Position in the neighbour list of the user's most recent item alone. */
  lastItemRank?: number;
  /** Position in the short-horizon trending list. */
  trendingRank?: number;
  /** Position in the long-horizon popularity list. */
  popularRank?: number;
  /** The user's affinity share (0..1) of the candidate's best category. */
  categoryAffinity: number;
  /** Retrieval score over the best retrieved score (0..1; negative scores count as 0). */
  retrievalScore?: number;
  /** 1 − retrieval rank / retrieval depth: linear in the rank where `retrieval_rr` fades after the first few. */
  retrievalDepth?: number;
  /**
   * The neighbour weight the candidate gets from the user's latest items, each weighted 2^(−position/2), over
   * the best candidate's (0..1): how strongly it goes with what the user did just now.
   */
  recentNeighbours?: number;
  /** log(1 + popularity) over log(1 + the top item's), 0 beyond the popularity list. */
  popularity?: number;
  /**
   * How often other users took the candidate right after the user's latest items, each weighted
   * 2^(−position/3), over the best candidate's (0..1): serving/ranking/transitions.ts.
   */
  transitionScore?: number;
}

const rr = (rank: number | undefined) => (rank === undefined ? 0 : 1 / (1 + rank));

export function featureRow(s: CandidateSignals): number[] {
  return [
    rr(s.retrievalRank),
    rr(s.lastItemRank),
    rr(s.trendingRank),
    rr(s.popularRank),
    Math.min(1, Math.max(0, s.categoryAffinity)),
    unit(s.retrievalScore),
    unit(s.retrievalDepth),
    unit(s.recentNeighbours),
    unit(s.popularity),
    unit(s.transitionScore),
  ];
}

const unit = (x: number | undefined) => (x === undefined ? 0 : Math.min(1, Math.max(0, x)));

/** featureRow written in place (serving builds one row per candidate per request: no array per row). */
export function writeFeatureRow(s: CandidateSignals, out: Float32Array, offset: number): void {
  out[offset] = rr(s.retrievalRank);
  out[offset + 1] = rr(s.lastItemRank);
  out[offset + 2] = rr(s.trendingRank);
  out[offset + 3] = rr(s.popularRank);
  out[offset + 4] = Math.min(1, Math.max(0, s.categoryAffinity));
  out[offset + 5] = unit(s.retrievalScore);
  out[offset + 6] = unit(s.retrievalDepth);
  out[offset + 7] = unit(s.recentNeighbours);
  out[offset + 8] = unit(s.popularity);
  out[offset + 9] = unit(s.transitionScore);
}

/**
 * The ranking used while no model is registered: retrieval order first, then what the user just looked at,
 * then category taste, then what is hot. Weights are hand-set, documented in docs/guides/recommendations.md.
 */
export const HEURISTIC_WEIGHTS: readonly number[] = [1.0, 0.5, 0.2, 0.3, 0.1, 0, 0, 0, 0, 0];

export function heuristicScore(row: ArrayLike<number>): number {
  let s = 0;
  for (let f = 0; f < FEATURE_COUNT; f++) s += HEURISTIC_WEIGHTS[f]! * row[f]!;
  return s;
}

/**
 * The best category share: affinities are decayed weights per category; the share of the candidate's best
 * category in the user's total says how much of their taste it covers.
 */
export function categoryAffinity(
  categories: readonly string[],
  affinities: ReadonlyMap<string, number>,
  total: number,
): number {
  if (total <= 0) return 0;
  let best = 0;
  for (const c of categories) best = Math.max(best, affinities.get(c) ?? 0);
  return best / total;
}
