/**
 * Top-k ranking metrics with binary relevance (every held-out interaction is relevant).
 * For a user with ranked list r_1..r_k (may be shorter) and relevant set R, rel_i = 1 if r_i ∈ R:
 *   Precision@k = hits / k               (k, not the list length: a short list is penalised)
 *   Recall@k    = hits / |R|
 *   nDCG@k      = Σ rel_i / log2(i+1)  ÷  Σ_{i=1..min(|R|,k)} 1 / log2(i+1)
 *   AP@k        = Σ rel_i · Precision@i  ÷  min(|R|, k)      (MAP@k = mean of AP@k over users)
 * Users with an empty R are not scored (callers skip them).
 */
export interface RankingMetrics {
  readonly map: number;
  readonly ndcg: number;
  readonly precision: number;
  readonly recall: number;
}

export function userMetrics(
  ranked: readonly string[],
  relevant: ReadonlySet<string>,
  k: number,
): RankingMetrics {
  if (relevant.size === 0) throw new RangeError("a user with no relevant items cannot be scored");
  let hits = 0;
  let dcg = 0;
  let sumPrecision = 0;
  const depth = Math.min(k, ranked.length);
  for (let i = 0; i < depth; i++) {
    if (!relevant.has(ranked[i]!)) continue;
    hits++;
    dcg += 1 / Math.log2(i + 2);
    sumPrecision += hits / (i + 1);
  }
  const ideal = Math.min(relevant.size, k);
  let idcg = 0;
  for (let i = 0; i < ideal; i++) idcg += 1 / Math.log2(i + 2);
  return {
    map: sumPrecision / ideal,
    ndcg: dcg / idcg,
    precision: hits / k,
    recall: hits / relevant.size,
  };
}

/** Unweighted mean over users (each user counts once, whatever their number of held-out items). */
export function meanMetrics(perUser: readonly RankingMetrics[]): RankingMetrics & { readonly users: number } {
  const n = perUser.length;
  const sum = { map: 0, ndcg: 0, precision: 0, recall: 0 };
  for (const m of perUser) {
    sum.map += m.map;
    sum.ndcg += m.ndcg;
    sum.precision += m.precision;
    sum.recall += m.recall;
  }
  const mean = (x: number) => (n === 0 ? 0 : x / n);
  return {
    map: mean(sum.map),
    ndcg: mean(sum.ndcg),
    precision: mean(sum.precision),
    recall: mean(sum.recall),
    users: n,
  };
}
