// The recommender metrics from per-group sufficient statistics (attribution-sql.ts): each a ratio of per-user
// sums with users as the unit, estimated with a delta-method confidence interval; and, for an experiment whose
// variants rank differently, each variant against the control with the experiments' tests and a verdict.
// Pure: every number is unit-tested.
import { analyzeMetric, armMoments, holmBonferroni, normalPpf, type ArmStats } from "../stats/index.ts";
import type { GroupSumsRow } from "./attribution-sql.ts";

export const RECOMMENDER_METRICS = ["ctr_at_k", "conversion_rate", "revenue_per_impression"] as const;
export type RecommenderMetric = (typeof RECOMMENDER_METRICS)[number];

export interface MetricEstimate {
  /** Σ numerator / Σ denominator over the group's users. */
  value: number;
  ci: [number, number];
  numerator: number;
  denominator: number;
}

export interface GroupMetrics {
  dimension: string;
  value: string;
  users: number;
  recommendations: number;
  impressions: number;
  impressions_at_k: number;
  clicks_at_k: number;
  conversions: number;
  revenue: number;
  attributions: { explicit: number; window: number };
  metrics: Record<RecommenderMetric, MetricEstimate>;
}

/** The ratio statistics of one metric of one group (users are the unit). */
export function ratioStats(row: GroupSumsRow, metric: RecommenderMetric): ArmStats & { kind: "ratio" } {
  const mean = (sum: number, sumSquares: number) => ({ kind: "mean" as const, sum, sumSquares });
  switch (metric) {
    case "ctr_at_k":
      return {
        kind: "ratio",
        n: row.users,
        numerator: mean(row.clicked_k, row.clicked_k_sq),
        denominator: mean(row.shown_k, row.shown_k_sq),
        crossSum: row.clicked_k_x_shown_k,
      };
    case "conversion_rate":
      return {
        kind: "ratio",
        n: row.users,
        numerator: mean(row.conversions, row.conversions_sq),
        denominator: mean(row.shown, row.shown_sq),
        crossSum: row.conversions_x_shown,
      };
    case "revenue_per_impression":
      return {
        kind: "ratio",
        n: row.users,
        numerator: mean(row.revenue, row.revenue_sq),
        denominator: mean(row.shown, row.shown_sq),
        crossSum: row.revenue_x_shown,
      };
  }
}

/** Ratio and its normal (1 - alpha) interval: value ± z·sqrt(per-user delta-method variance / users). */
export function estimate(stats: ArmStats & { kind: "ratio" }, alpha: number): MetricEstimate {
  const m = armMoments(stats);
  // max(0, …): the delta-method variance can come out a rounding error below zero when it is zero.
  const half = stats.n > 0 ? normalPpf(1 - alpha / 2) * Math.sqrt(Math.max(0, m.variance) / stats.n) : 0;
  return {
    value: m.mean,
    ci: [m.mean - half, m.mean + half],
    numerator: stats.numerator.sum,
    denominator: stats.denominator.sum,
  };
}

export function groupMetrics(row: GroupSumsRow, alpha: number): GroupMetrics {
  const metrics = Object.fromEntries(
    RECOMMENDER_METRICS.map((m) => [m, estimate(ratioStats(row, m), alpha)]),
  ) as Record<RecommenderMetric, MetricEstimate>;
  return {
    dimension: row.dimension,
    value: row.value,
    users: row.users,
    recommendations: row.recommendations,
    impressions: row.shown,
    impressions_at_k: row.shown_k,
    clicks_at_k: row.clicked_k,
    conversions: row.conversions,
    revenue: row.revenue,
    attributions: { explicit: row.explicit_attributions, window: row.window_attributions },
    metrics,
  };
}

export type Verdict = "better" | "worse" | "inconclusive";

export interface VariantComparison {
  metric: RecommenderMetric;
  /** Relative lift of the variant over the control, its (1 - alpha) interval and the Welch test's p-value. */
  lift: number;
  ci: [number, number];
  p_value: number;
  /** Holm-corrected across the experiment's metrics × variants. */
  adjusted_p_value: number;
  verdict: Verdict;
  error: string | null;
}

export interface VariantVerdict {
  variant: string;
  comparisons: VariantComparison[];
  /**
   * adopt: CTR@k better and no metric worse; reject: some metric worse; inconclusive otherwise (including
   * a variant with too few users to test).
   */
  verdict: "adopt" | "reject" | "inconclusive";
}

export interface ExperimentVerdict {
  control: string;
  variants: VariantVerdict[];
  /** The variant to adopt when exactly one is adopted and the others are not; else null. */
  winner: string | null;
}

/**
 * Each variant against the control on the three metrics (relative lift, two-sided Welch test at alpha, Holm
 * correction over all metric × variant pairs), then a verdict per variant. `rows` are the experiment's
 * variant groups; a variant without lists gets no comparison.
 */
export function compareVariants(
  rows: readonly GroupSumsRow[],
  control: string,
  variants: readonly string[],
  alpha: number,
): ExperimentVerdict {
  const byVariant = new Map(rows.map((r) => [r.value, r]));
  const controlRow = byVariant.get(control);
  const tested = variants.filter((v) => v !== control && byVariant.has(v));
  const raw = controlRow
    ? tested.flatMap((variant) =>
        RECOMMENDER_METRICS.map((metric) => {
          const analysis = analyzeMetric(
            ratioStats(controlRow, metric),
            [ratioStats(byVariant.get(variant)!, metric)],
            { alpha },
          );
          const relative = analysis.variants[0]!.relative;
          return { variant, metric, relative };
        }),
      )
    : [];
  // A comparison that cannot run (no variance, zero control) keeps p = 1, which the correction leaves at 1.
  const adjusted = holmBonferroni(raw.map((r) => r.relative.pValue));
  const comparisons = raw.map((r, i): VariantComparison & { variant: string } => {
    const [lo, hi] = r.relative.ci;
    const significant = r.relative.errorCode === null && adjusted[i]! < alpha;
    return {
      variant: r.variant,
      metric: r.metric,
      lift: r.relative.expected,
      ci: [lo, hi],
      p_value: r.relative.pValue,
      adjusted_p_value: adjusted[i]!,
      verdict: significant ? (r.relative.expected > 0 ? "better" : "worse") : "inconclusive",
      error: r.relative.errorCode,
    };
  });
  const verdicts = variants
    .filter((v) => v !== control)
    .map((variant): VariantVerdict => {
      const mine = comparisons.filter((c) => c.variant === variant).map(({ variant: _v, ...c }) => c);
      const ctr = mine.find((c) => c.metric === "ctr_at_k");
      const verdict = mine.some((c) => c.verdict === "worse")
        ? "reject"
        : ctr?.verdict === "better"
          ? "adopt"
          : "inconclusive";
      return { variant, comparisons: mine, verdict };
    });
  const adopted = verdicts.filter((v) => v.verdict === "adopt");
  return { control, variants: verdicts, winner: adopted.length === 1 ? adopted[0]!.variant : null };
}
