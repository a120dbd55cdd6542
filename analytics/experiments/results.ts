// Experiment results from per-variant sufficient statistics: a pure function, so every number the API
// shows can be checked in a unit test. The statistics themselves are analytics/stats (gbstats 0.8.0);
// this file decides which tests an experiment's plan asks for, the SRM check against the configured
// weights, the multiple-testing family, breakdown segments and the cumulative series.
import {
  adjustPValues,
  analyzeMetric,
  sampleRatioMismatch,
  DEFAULT_SRM_THRESHOLD,
  type ArmStats,
  type BayesianResult,
  type FrequentistResult,
  type MetricAnalysis,
  type PValueCorrection,
} from "../stats/index.ts";
import type { ExperimentDefinition, Metric } from "../../ingest/experiments/index.ts";
import type {
  CumulativePoint,
  ExperimentResults,
  LiftTest,
  MetricResult,
  SrmReport,
  VariantResult,
} from "./api-schemas.ts";

/** Users and per-metric statistics of one population (the whole experiment, or one segment). */
export interface PopulationStatistics {
  /** Exposed users per variant key. */
  readonly users: Readonly<Record<string, number>>;
  /**
   * metric key → variant key → sufficient statistics over that variant's exposed users (a user with
   * no events counts with 0). Conversion metrics are `proportion`, mean `mean`, ratio `ratio`; any
   * of them may be `cuped` when pre-exposure values are known. A missing arm counts as empty.
   */
  readonly metrics: Readonly<Record<string, Readonly<Record<string, ArmStats>>>>;
}

export interface ExperimentStatistics extends PopulationStatistics {
  readonly breakdown?: {
    readonly dimension: string;
    readonly segments: readonly (PopulationStatistics & { readonly value: string })[];
  };
  /** Totals from the start up to each date (cumulative, not per day), oldest first. */
  readonly cumulative?: readonly (PopulationStatistics & { readonly date: string })[];
  /**
   * Where the per-user totals came from: those the analytics projection maintains for a running
   * experiment, or computed from every event (closed windows, or totals not yet covering every user).
   */
  readonly computedFrom?: "user_totals" | "events";
}

export interface ResultsContext {
  readonly version: number;
  readonly status: ExperimentResults["status"];
  readonly computedAt: Date;
  readonly window: { readonly from: string | null; readonly to: string };
  readonly alpha?: number;
  readonly srmThreshold?: number;
}

const CORRECTION_METHOD: Record<ExperimentDefinition["correction"], PValueCorrection | null> = {
  holm: "holm-bonferroni",
  bh: "benjamini-hochberg",
  none: null,
};

export function buildResults(
  definition: ExperimentDefinition,
  statistics: ExperimentStatistics,
  context: ResultsContext,
): ExperimentResults {
  const alpha = context.alpha ?? 0.05;
  const srmThreshold = context.srmThreshold ?? DEFAULT_SRM_THRESHOLD;
  const population = analyzePopulation(definition, statistics, alpha, srmThreshold);
  return {
    experiment_key: definition.key,
    version: context.version,
    status: context.status,
    control: definition.control,
    alpha,
    correction: definition.correction,
    sequential: definition.sequential,
    computed_at: context.computedAt.toISOString(),
    window: { from: context.window.from, to: context.window.to },
    computed_from: statistics.computedFrom ?? "events",
    users: population.users,
    srm: population.srm,
    metrics: population.metrics,
    breakdown: statistics.breakdown
      ? {
          dimension: statistics.breakdown.dimension,
          segments: statistics.breakdown.segments.map((segment) => {
            const result = analyzePopulation(definition, segment, alpha, srmThreshold);
            return {
              value: segment.value,
              users: Object.values(result.users).reduce((a, b) => a + b, 0),
              srm: result.srm,
              metrics: result.metrics,
            };
          }),
        }
      : null,
    cumulative: (statistics.cumulative ?? []).map((point) => cumulativePoint(definition, point, alpha)),
  };
}

/** Control first, then the other variants in definition order: the order weights and results use. */
export function armOrder(definition: ExperimentDefinition): string[] {
  return [
    definition.control,
    ...definition.variants.map((v) => v.key).filter((k) => k !== definition.control),
  ];
}

function analyzePopulation(
  definition: ExperimentDefinition,
  statistics: PopulationStatistics,
  alpha: number,
  srmThreshold: number,
) {
  const arms = armOrder(definition);
  const users = Object.fromEntries(arms.map((arm) => [arm, statistics.users[arm] ?? 0]));
  const srm = srmReport(definition, users, srmThreshold);

  const analyses = definition.metrics.map((metric) => ({
    metric,
    analysis: analyzeOneMetric(definition, metric, statistics, alpha),
  }));

  // One family for the whole experiment: every non-guardrail metric × variant, as GrowthBook does.
  // Guardrails watch for harm and are read one by one, so they keep their raw p-values.
  const family: { metric: number; variant: number; pValue: number }[] = [];
  analyses.forEach(({ metric, analysis }, m) => {
    if (metric.guardrail) return;
    analysis.variants.forEach((v, i) =>
      family.push({ metric: m, variant: i, pValue: decisionTest(v).pValue }),
    );
  });
  const method = CORRECTION_METHOD[definition.correction];
  const adjusted = method
    ? adjustPValues(
        family.map((f) => f.pValue),
        method,
      )
    : family.map((f) => f.pValue);
  const adjustedOf = new Map(family.map((f, i) => [`${f.metric}/${f.variant}`, adjusted[i]!]));

  const metrics: MetricResult[] = analyses.map(({ metric, analysis }, m) => ({
    key: metric.key,
    type: metric.type,
    guardrail: metric.guardrail,
    direction: metric.direction,
    control: { variant: arms[0]!, ...armSummary(analysis.control) },
    variants: analysis.variants.map((v, i) => {
      const test = decisionTest(v);
      const adjustedP = adjustedOf.get(`${m}/${i}`) ?? test.pValue;
      return variantResult(arms[i + 1]!, v, metric, definition.sequential, adjustedP, alpha);
    }),
  }));
  return { users, srm, metrics };
}

function analyzeOneMetric(
  definition: ExperimentDefinition,
  metric: Metric,
  statistics: PopulationStatistics,
  alpha: number,
): MetricAnalysis {
  const arms = armOrder(definition);
  const byArm = statistics.metrics[metric.key] ?? {};
  const present = arms.map((a) => byArm[a]).find((s): s is ArmStats => s !== undefined);
  const statsOf = (arm: string): ArmStats => byArm[arm] ?? emptyStats(present ?? defaultKind(metric));
  // An arm without pre-period data cannot be compared with a CUPED one: drop the adjustment for all.
  const all = arms.map(statsOf);
  const uniform = all.every((s) => s.kind === all[0]!.kind) ? all : all.map(withoutCuped);
  return analyzeMetric(uniform[0]!, uniform.slice(1), {
    alpha,
    sequential: definition.sequential,
    inverse: metric.direction === "decrease",
  });
}

type AnalyzedVariant = MetricAnalysis["variants"][number];

/** The test a decision rests on: always-valid when the experiment is sequential, else the fixed-horizon one. */
function decisionTest(v: AnalyzedVariant): FrequentistResult {
  return v.sequential ? v.sequential.relative : v.relative;
}

function variantResult(
  variant: string,
  v: AnalyzedVariant,
  metric: Metric,
  sequential: boolean,
  adjustedPValue: number,
  alpha: number,
): VariantResult {
  const test = decisionTest(v);
  const significant = test.errorCode === null && adjustedPValue < alpha;
  const improves = metric.direction === "decrease" ? test.expected < 0 : test.expected > 0;
  return {
    variant,
    users: v.users,
    mean: v.mean,
    variance: v.variance,
    stddev: v.stddev,
    absolute: liftTest(v.absolute),
    relative: liftTest(v.relative),
    sequential: v.sequential
      ? { absolute: liftTest(v.sequential.absolute), relative: liftTest(v.sequential.relative) }
      : null,
    cuped: v.cuped
      ? {
          theta: v.cuped.theta,
          control_adjusted_mean: v.cuped.control.mean,
          variant_adjusted_mean: v.cuped.variant.mean,
          unadjusted: {
            absolute: liftTest(v.cuped.unadjusted.absolute),
            relative: liftTest(v.cuped.unadjusted.relative),
          },
        }
      : null,
    bayesian: bayesianSummary(v.bayesian.relative),
    decision: {
      method: sequential ? "sequential" : "fixed_horizon",
      relative_ci: [test.ci[0], test.ci[1]],
      p_value: test.pValue,
      adjusted_p_value: adjustedPValue,
      significant,
      verdict: significant ? (improves ? "better" : "worse") : "inconclusive",
    },
  };
}

function liftTest(r: FrequentistResult): LiftTest {
  return {
    estimate: r.expected,
    ci: [r.ci[0], r.ci[1]],
    p_value: r.pValue,
    stddev: r.stddev,
    error: r.errorCode,
  };
}

function bayesianSummary(r: BayesianResult): VariantResult["bayesian"] {
  return {
    chance_to_win: r.chanceToWin,
    risk: { control: r.risk.control, variant: r.risk.variant },
    expected: r.expected,
    ci: [r.ci[0], r.ci[1]],
    error: r.errorCode,
  };
}

function armSummary(a: MetricAnalysis["control"]) {
  return { users: a.users, mean: a.mean, variance: a.variance, stddev: a.stddev };
}

function srmReport(
  definition: ExperimentDefinition,
  users: Record<string, number>,
  threshold: number,
): SrmReport {
  const arms = armOrder(definition);
  const weightOf = new Map(definition.variants.map((v) => [v.key, v.weight]));
  const counts = arms.map((a) => users[a] ?? 0);
  const weights = arms.map((a) => weightOf.get(a) ?? 0);
  const result = sampleRatioMismatch(counts, weights, threshold);
  const total = counts.reduce((a, b) => a + b, 0);
  return {
    arms: arms.map((variant, i) => ({
      variant,
      users: counts[i]!,
      expected_share: weights[i]!,
      observed_share: total === 0 ? 0 : counts[i]! / total,
    })),
    chi_square: result.chiSquare,
    degrees_of_freedom: result.degreesOfFreedom,
    p_value: result.pValue,
    threshold,
    flagged: result.flagged,
    message: result.flagged
      ? `sample ratio mismatch: users per variant (${counts.join(" / ")}) are unlikely under the configured ` +
        `weights (${weights.join(" / ")}), p = ${result.pValue.toExponential(2)} < ${threshold}; ` +
        "check assignment and exposure logging before trusting these results"
      : null,
  };
}

function cumulativePoint(
  definition: ExperimentDefinition,
  point: PopulationStatistics & { readonly date: string },
  alpha: number,
): CumulativePoint {
  const arms = armOrder(definition);
  const metrics: CumulativePoint["metrics"] = {};
  for (const metric of definition.metrics) {
    const analysis = analyzeOneMetric(definition, metric, point, alpha);
    metrics[metric.key] = Object.fromEntries(
      analysis.variants.map((v, i) => {
        const test = decisionTest(v);
        return [
          arms[i + 1]!,
          { relative: test.expected, ci: [test.ci[0], test.ci[1]], error: test.errorCode },
        ];
      }),
    );
  }
  return { date: point.date, users: Object.fromEntries(arms.map((a) => [a, point.users[a] ?? 0])), metrics };
}

function defaultKind(metric: Metric): ArmStats {
  if (metric.type === "conversion") return { kind: "proportion", n: 0, sum: 0 };
  if (metric.type === "mean") return { kind: "mean", n: 0, sum: 0, sumSquares: 0 };
  return {
    kind: "ratio",
    n: 0,
    numerator: { kind: "mean", sum: 0, sumSquares: 0 },
    denominator: { kind: "mean", sum: 0, sumSquares: 0 },
    crossSum: 0,
  };
}

/** Zero statistics shaped like `like`, for a variant with no exposed users in this population. */
function emptyStats(like: ArmStats): ArmStats {
  const zero = (c: { kind: "mean" | "proportion" }) =>
    c.kind === "proportion"
      ? { kind: "proportion" as const, sum: 0 }
      : { kind: "mean" as const, sum: 0, sumSquares: 0 };
  switch (like.kind) {
    case "proportion":
      return { kind: "proportion", n: 0, sum: 0 };
    case "mean":
      return { kind: "mean", n: 0, sum: 0, sumSquares: 0 };
    case "ratio":
      return {
        kind: "ratio",
        n: 0,
        numerator: zero(like.numerator),
        denominator: zero(like.denominator),
        crossSum: 0,
      };
    case "cuped":
      return { kind: "cuped", n: 0, post: zero(like.post), pre: zero(like.pre), crossSum: 0 };
  }
}

function withoutCuped(s: ArmStats): ArmStats {
  if (s.kind !== "cuped") return s;
  return s.post.kind === "proportion"
    ? { kind: "proportion", n: s.n, sum: s.post.sum }
    : { kind: "mean", n: s.n, sum: s.post.sum, sumSquares: s.post.sumSquares };
}
