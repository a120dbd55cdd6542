// Quantile metrics (p50, p90 … of a per-user value), as GrowthBook's QuantileStatistic: the
// sample quantile with a distribution-free confidence interval from order statistics (the normal
// approximation to the binomial count of values below the quantile; Conover, Practical
// Nonparametric Statistics, 3rd ed., §3.2), and a standard error read off that interval's width so
// the usual Welch and delta-method tests apply to differences between arms.
import { normalPpf } from "./distributions.ts";

/** One arm's quantile and its order-statistic interval bounds (what SQL over per-user values gives). */
export interface QuantileStats {
  readonly kind: "quantile";
  readonly n: number;
  /** The quantile level ν, 0 < ν < 1 (0.9 for p90). */
  readonly level: number;
  /** The sample quantile: the ⌈nν⌉-th smallest value. */
  readonly quantile: number;
  /** The order statistics at quantileRanks(n, ν).lower and .upper. */
  readonly lower: number;
  readonly upper: number;
}

/** z of the 95 % interval the standard error is derived from (GrowthBook fixes it at 95 %). */
export const QUANTILE_Z = normalPpf(0.975);

/**
 * 1-based ranks of the sample quantile and of the 95 % interval's bounds: nν ∓ z·√(nν(1−ν)),
 * widened outwards to whole ranks and clamped to [1, n].
 */
export function quantileRanks(n: number, level: number): { estimate: number; lower: number; upper: number } {
  const spread = QUANTILE_Z * Math.sqrt(n * level * (1 - level));
  const clamp = (rank: number) => Math.min(n, Math.max(1, rank));
  return {
    estimate: clamp(Math.ceil(n * level)),
    lower: clamp(Math.floor(n * level - spread)),
    upper: clamp(Math.ceil(n * level + spread)),
  };
}

/**
 * Too few users for the interval to stay inside the data: nν or n(1−ν) not above z²·(other side),
 * GrowthBook's check; the tests report ZERO_NEGATIVE_VARIANCE then.
 */
export function quantileTooFewUnits(s: QuantileStats): boolean {
  const z2 = QUANTILE_Z ** 2;
  return s.n <= (z2 * s.level) / (1 - s.level) || s.n <= (z2 * (1 - s.level)) / s.level;
}

/**
 * Per-unit variance: (n − 1)·((upper − lower) / (2z))², so that variance / n is the squared
 * standard error the interval implies (GrowthBook's variance_init without clustering).
 */
export function quantileVariance(s: QuantileStats): number {
  if (s.n <= 1 || quantileTooFewUnits(s)) return 0;
  return (s.n - 1) * ((s.upper - s.lower) / (2 * QUANTILE_Z)) ** 2;
}

/** The quantile and its 95 % order-statistic interval from one arm's per-user values (for tests and small data). */
export function quantileStatsOf(values: readonly number[], level: number): QuantileStats {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return { kind: "quantile", n: 0, level, quantile: 0, lower: 0, upper: 0 };
  const ranks = quantileRanks(n, level);
  return {
    kind: "quantile",
    n,
    level,
    quantile: sorted[ranks.estimate - 1]!,
    lower: sorted[ranks.lower - 1]!,
    upper: sorted[ranks.upper - 1]!,
  };
}
