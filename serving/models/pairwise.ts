import { sigmoid, type LogisticModel } from "./logistic.ts";

/**
 * Pairwise learning to rank with a linear scorer (RankNet, pairs weighted as LambdaRank weighs them): for a
 * held-out user, every item they took next should score above every candidate they did not, P(a above b) =
 * σ(w·(x_a − x_b)). A pair counts by how much swapping it changes nDCG in the order serving starts from (the
 * prior, retrieval order): the ranker's job is the top of the list, and a pair of two candidates far down
 * changes nothing a user sees. The score w·x is exported through Gemm → Sigmoid (monotone, so the same order).
 */
export interface RankingGroup {
  /** Candidates × features, row-major. */
  readonly rows: Float32Array;
  /** 1 for a candidate the user took next, else 0; one per row. */
  readonly labels: ArrayLike<number>;
  /** How much this group's pairs count (default 1). */
  readonly weight?: number;
}

export interface PairwiseOptions {
  /** The order the weights are computed in (higher first). */
  readonly prior: (row: Float32Array) => number;
  /** Pairs whose swap changes nDCG by less than this are left out. Default 1e-3. */
  readonly minWeight?: number;
  /** Most pairs kept (the heaviest). Default 200,000. */
  readonly maxPairs?: number;
  readonly iterations?: number;
  readonly learningRate?: number;
  /** L2 penalty on the weights. Default 0.01. */
  readonly l2?: number;
  /**
   * Weigh the pairs again in the fitted model's own order every this many iterations (LambdaRank proper), so
   * the loss follows the top of the list the model itself produces. 0: only the prior's order. Default 0.
   */
  readonly reweighEvery?: number;
}

export interface WeightedPairs {
  /** Pair differences x_taken − x_other, row-major. */
  readonly diffs: Float32Array;
  readonly weights: Float64Array;
  readonly count: number;
  /** Per pair: its group, the taken row and the other row (to weigh it again in another order). */
  readonly index: Int32Array;
}

/** |1/log2(2 + rank_taken) − 1/log2(2 + rank_other)| for every (taken, not taken) pair in the prior order. */
export function weightedPairs(
  groups: readonly RankingGroup[],
  featureCount: number,
  options: Pick<PairwiseOptions, "prior" | "minWeight" | "maxPairs">,
): WeightedPairs {
  const minWeight = options.minWeight ?? 1e-3;
  const pairs: { g: number; p: number; q: number; w: number }[] = [];
  groups.forEach((group, g) => {
    const n = group.labels.length;
    const prior = Array.from({ length: n }, (_, i) =>
      options.prior(group.rows.subarray(i * featureCount, (i + 1) * featureCount)),
    );
    const order = prior.map((_, i) => i).sort((a, b) => prior[b]! - prior[a]! || a - b);
    const rank = new Int32Array(n);
    order.forEach((i, r) => (rank[i] = r));
    for (let p = 0; p < n; p++) {
      if (!(group.labels[p]! > 0)) continue;
      for (let q = 0; q < n; q++) {
        if (group.labels[q]! > 0) continue;
        const w = Math.abs(1 / Math.log2(2 + rank[p]!) - 1 / Math.log2(2 + rank[q]!));
        if (w >= minWeight) pairs.push({ g, p, q, w: w * (group.weight ?? 1) });
      }
    }
  });
  const max = options.maxPairs ?? 200_000;
  if (pairs.length > max) {
    pairs.sort((a, b) => b.w - a.w || a.g - b.g || a.p - b.p || a.q - b.q);
    pairs.length = max;
  }
  const diffs = new Float32Array(pairs.length * featureCount);
  const weights = new Float64Array(pairs.length);
  const index = new Int32Array(pairs.length * 3);
  pairs.forEach(({ g, p, q, w }, k) => {
    index.set([g, p, q], k * 3);
    const rows = groups[g]!.rows;
    for (let f = 0; f < featureCount; f++)
      diffs[k * featureCount + f] = rows[p * featureCount + f]! - rows[q * featureCount + f]!;
    weights[k] = w;
  });
  return { diffs, weights, count: pairs.length, index };
}

/** The pairs' weights again, in the order the current scorer gives each group (LambdaRank's iteration). */
function reweigh(
  groups: readonly RankingGroup[],
  featureCount: number,
  pairs: WeightedPairs,
  w: Float64Array,
): void {
  const ranks = groups.map((group) => {
    const n = group.labels.length;
    const score = new Float64Array(n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < featureCount; j++) score[i]! += w[j]! * group.rows[i * featureCount + j]!;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[b]! - score[a]! || a - b);
    const rank = new Int32Array(n);
    order.forEach((i, r) => (rank[i] = r));
    return rank;
  });
  for (let k = 0; k < pairs.count; k++) {
    const rank = ranks[pairs.index[k * 3]!]!;
    const rp = rank[pairs.index[k * 3 + 1]!]!;
    const rq = rank[pairs.index[k * 3 + 2]!]!;
    pairs.weights[k] =
      Math.abs(1 / Math.log2(2 + rp) - 1 / Math.log2(2 + rq)) * (groups[pairs.index[k * 3]!]!.weight ?? 1);
  }
}

/** Full-batch Adam on the weighted pairwise logistic loss (deterministic). No bias: it orders nothing. */
export function trainPairwise(
  groups: readonly RankingGroup[],
  featureNames: readonly string[],
  options: PairwiseOptions,
): LogisticModel {
  const f = featureNames.length;
  const pairs = weightedPairs(groups, f, options);
  const { diffs, weights, count } = pairs;
  if (count === 0) throw new Error("no ranking pairs: no held-out user took an item among their candidates");
  let total = weights.reduce((a, b) => a + b, 0);
  const reweighEvery = options.reweighEvery ?? 0;
  const iterations = options.iterations ?? 300;
  const lr = options.learningRate ?? 0.05;
  const l2 = options.l2 ?? 0.01;
  const w = new Float64Array(f);
  const m = new Float64Array(f);
  const v = new Float64Array(f);
  const grad = new Float64Array(f);
  for (let t = 1; t <= iterations; t++) {
    if (reweighEvery > 0 && t > 1 && (t - 1) % reweighEvery === 0) {
      reweigh(groups, f, pairs, w);
      total = weights.reduce((a, b) => a + b, 0);
    }
    grad.fill(0);
    for (let k = 0; k < count; k++) {
      const o = k * f;
      let s = 0;
      for (let j = 0; j < f; j++) s += w[j]! * diffs[o + j]!;
      const e = ((sigmoid(s) - 1) * weights[k]!) / total;
      for (let j = 0; j < f; j++) grad[j]! += e * diffs[o + j]!;
    }
    for (let j = 0; j < f; j++) {
      const g = grad[j]! + l2 * w[j]!;
      m[j] = 0.9 * m[j]! + 0.1 * g;
      v[j] = 0.999 * v[j]! + 0.001 * g * g;
      w[j]! -= (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  return { weights: Array.from(w), bias: 0, featureNames: [...featureNames] };
}
