import { trainLogistic, type LogisticModel, type LogisticOptions } from "./logistic.ts";

/**
 * Pairwise learning to rank (RankNet with a linear scorer): for a held-out user, every item they took next
 * should score above every candidate they did not. P(a above b) = σ(w·(x_a − x_b)), so a logistic regression on
 * row differences learns w; the score w·x (exported through Gemm → Sigmoid, a monotone map) orders a list.
 */
export interface RankingGroup {
  /** Candidates × features, row-major. */
  readonly rows: Float32Array;
  /** 1 for a candidate the user took next, else 0; one per row. */
  readonly labels: ArrayLike<number>;
}

export interface PairwiseOptions extends LogisticOptions {
  /** Negatives paired with each positive (sampled without replacement). Default 8. */
  readonly negativesPerPositive?: number;
  /** Most pairs used in total (spread evenly over groups). Default 20,000. */
  readonly maxPairs?: number;
  readonly seed?: number;
  /**
   * Negatives are drawn from the `hardNegatives` not-taken candidates that `prior` scores highest (default 30):
   * the ranker's job is the top of the list, and pairs with candidates far down teach it nothing there.
   */
  readonly hardNegatives?: number;
  readonly prior?: (row: Float32Array) => number;
}

export function pairDifferences(
  groups: readonly RankingGroup[],
  featureCount: number,
  options: PairwiseOptions = {},
): { rows: number[][]; labels: number[] } {
  const perPositive = options.negativesPerPositive ?? 8;
  const random = lcg(options.seed ?? 42);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (const g of groups) {
    const positives: number[] = [];
    const negatives: number[] = [];
    for (let i = 0; i < g.labels.length; i++) (g.labels[i]! > 0 ? positives : negatives).push(i);
    if (options.prior) {
      const prior = options.prior;
      const score = (i: number) => prior(g.rows.subarray(i * featureCount, (i + 1) * featureCount));
      negatives.sort((a, b) => score(b) - score(a) || a - b);
      negatives.length = Math.min(negatives.length, options.hardNegatives ?? 30);
    }
    for (const p of positives) {
      const pool = [...negatives];
      for (let k = 0; k < perPositive && pool.length > 0; k++) {
        const n = pool.splice(Math.floor(random() * pool.length), 1)[0]!;
        // Both orientations appear, so the classes balance and the fitted bias stays at zero.
        const sign = rows.length % 2 === 0 ? 1 : -1;
        const diff: number[] = [];
        for (let f = 0; f < featureCount; f++)
          diff.push(sign * (g.rows[p * featureCount + f]! - g.rows[n * featureCount + f]!));
        rows.push(diff);
        labels.push(sign > 0 ? 1 : 0);
      }
    }
  }
  const max = options.maxPairs ?? 20_000;
  if (rows.length <= max) return { rows, labels };
  const stride = rows.length / max;
  const keep = Array.from({ length: max }, (_, i) => Math.floor(i * stride));
  return { rows: keep.map((i) => rows[i]!), labels: keep.map((i) => labels[i]!) };
}

/** Fits w on pair differences; the bias is dropped (it shifts every score alike and orders nothing). */
export function trainPairwise(
  groups: readonly RankingGroup[],
  featureNames: readonly string[],
  options: PairwiseOptions = {},
): LogisticModel {
  const { rows, labels } = pairDifferences(groups, featureNames.length, options);
  if (rows.length === 0)
    throw new Error("no ranking pairs: no held-out user took an item among their candidates");
  const model = trainLogistic(rows, labels, featureNames, options);
  return { ...model, bias: 0 };
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
