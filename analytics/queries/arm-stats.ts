// Maps the SQL's sufficient statistics onto analytics/stats' ArmStats, the kinds gbstats uses.
import type { ArmStats } from "../stats/index.ts";
import type { VariantMetricStatistics, VariantUserCount } from "./experiment-stats.ts";

export interface ArmStatsOptions {
  /** Use the pre-exposure covariate (CUPED); ratio metrics use the pre-period ratio. */
  cuped?: boolean;
}

/**
 * Conversion → proportion (Bernoulli variance, as gbstats), mean → mean, ratio → ratio with the delta
 * method; with `cuped`, conversion and mean become regression-adjusted statistics whose covariate is the
 * same metric over the pre-exposure period, and ratio the regression-adjusted ratio (numerator and
 * denominator over the pre-period too) when the pre-period sums are known.
 */
export function toArmStats(s: VariantMetricStatistics, options: ArmStatsOptions = {}): ArmStats {
  switch (s.metricType) {
    case "conversion":
      return options.cuped
        ? {
            kind: "cuped",
            n: s.n,
            post: { kind: "proportion", sum: s.sum },
            pre: { kind: "proportion", sum: s.preSum },
            crossSum: s.crossSum,
          }
        : { kind: "proportion", n: s.n, sum: s.sum };
    case "mean":
      return options.cuped
        ? {
            kind: "cuped",
            n: s.n,
            post: { kind: "mean", sum: s.sum, sumSquares: s.sumSquares },
            pre: { kind: "mean", sum: s.preSum, sumSquares: s.preSumSquares },
            crossSum: s.crossSum,
          }
        : { kind: "mean", n: s.n, sum: s.sum, sumSquares: s.sumSquares };
    case "quantile": {
      const q = s.quantile;
      return {
        kind: "quantile",
        n: s.n,
        level: q?.level ?? 0.5,
        quantile: q?.value ?? 0,
        lower: q?.lower ?? 0,
        upper: q?.upper ?? 0,
      };
    }
    case "ratio":
      if (options.cuped && s.ratioPre) {
        const pre = s.ratioPre;
        return {
          kind: "ratio_cuped",
          n: s.n,
          numerator: { kind: "mean", sum: s.sum, sumSquares: s.sumSquares },
          denominator: { kind: "mean", sum: s.denSum ?? 0, sumSquares: s.denSumSquares ?? 0 },
          preNumerator: { kind: "mean", sum: s.preSum, sumSquares: s.preSumSquares },
          preDenominator: { kind: "mean", sum: pre.preDenSum, sumSquares: pre.preDenSumSquares },
          products: {
            numeratorDenominator: s.numDenCross ?? 0,
            numeratorPreNumerator: s.crossSum,
            numeratorPreDenominator: pre.numPreDenCross,
            denominatorPreNumerator: pre.denPreNumCross,
            denominatorPreDenominator: pre.denPreDenCross,
            preNumeratorPreDenominator: pre.preNumPreDenCross,
          },
        };
      }
      return {
        kind: "ratio",
        n: s.n,
        numerator: { kind: "mean", sum: s.sum, sumSquares: s.sumSquares },
        denominator: { kind: "mean", sum: s.denSum ?? 0, sumSquares: s.denSumSquares ?? 0 },
        crossSum: s.numDenCross ?? 0,
      };
  }
}

/** `{ users: variant → n, metrics: metric → variant → ArmStats }` for one population (no breakdown). */
export interface PopulationArmStats {
  users: Record<string, number>;
  metrics: Record<string, Record<string, ArmStats>>;
}

/**
 * Groups statistics of one population (rows with one breakdown value, or without a breakdown) by metric
 * and variant. `users` come from `loadVariantUserCounts` when given, else from the rows' n.
 */
export function toPopulationArmStats(
  statistics: readonly VariantMetricStatistics[],
  options: ArmStatsOptions & { userCounts?: readonly VariantUserCount[] } = {},
): PopulationArmStats {
  const users: Record<string, number> = {};
  const metrics: Record<string, Record<string, ArmStats>> = {};
  for (const s of statistics) {
    users[s.variant] = s.n;
    (metrics[s.metric] ??= {})[s.variant] = toArmStats(s, options);
  }
  for (const c of options.userCounts ?? []) users[c.variant] = c.users;
  return { users, metrics };
}
