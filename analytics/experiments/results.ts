// Experiment results from per-variant sufficient statistics: a pure function, so every number the API
// shows can be checked in a unit test. The statistics themselves are analytics/stats (gbstats 0.8.0);
// this file decides which tests an experiment's plan asks for, the SRM check against the configured
// weights, the multiple-testing family, breakdown segments and the cumulative series.
import {
  adjustPValues,
  analyzeMetric,
  nonInferiorityTestFromMoments,
  oneSidedTTestFromMoments,
  pairMoments,
  sampleRatioMismatch,
  DEFAULT_SRM_THRESHOLD,
  type ArmStats,
  type BayesianResult,
  type FrequentistResult,
  type MetricAnalysis,
  type PValueCorrection,
} from "../stats/index.ts";
import {
  analysisSettingsOf,
  type AnalysisSettings,
  type ExperimentDefinition,
  type Metric,
} from "../../ingest/experiments/index.ts";
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
  const settings = analysisSettingsOf(definition);
  const alpha = context.alpha ?? settings.alpha;
  const plan: Plan = { definition, settings, alpha };
  const srmThreshold = context.srmThreshold ?? DEFAULT_SRM_THRESHOLD;
  const population = analyzePopulation(plan, statistics, srmThreshold);
  return {
    experiment_key: definition.key,
    version: context.version,
    status: context.status,
    control: definition.control,
    alpha,
    correction: definition.correction,
    sequential: definition.sequential,
    analysis: { ...settings, alpha },
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
            const result = analyzePopulation(plan, segment, srmThreshold);
            return {
              value: segment.value,
              users: Object.values(result.users).reduce((a, b) => a + b, 0),
              srm: result.srm,
              metrics: result.metrics,
            };
          }),
        }
      : null,
    cumulative: (statistics.cumulative ?? []).map((point) => cumulativePoint(plan, point)),
  };
}

/** Control first, then the other variants in definition order: the order weights and results use. */
export function armOrder(definition: ExperimentDefinition): string[] {
  return [
    definition.control,
    ...definition.variants.map((v) => v.key).filter((k) => k !== definition.control),
  ];
}

/** What one results computation needs about the experiment: its definition and analysis settings. */
interface Plan {
  readonly definition: ExperimentDefinition;
  readonly settings: AnalysisSettings;
  readonly alpha: number;
}

/** The p-values corrected together: GrowthBook's one family, or one per metric or per variant. */
function familyKey(scope: AnalysisSettings["correction_scope"], metric: number, variant: number): string {
  if (scope === "metric") return `metric ${metric}`;
  if (scope === "variant") return `variant ${variant}`;
  return "all";
}

function analyzePopulation(plan: Plan, statistics: PopulationStatistics, srmThreshold: number) {
  const { definition, settings } = plan;
  const arms = armOrder(definition);
  const users = Object.fromEntries(arms.map((arm) => [arm, statistics.users[arm] ?? 0]));
  const srm = srmReport(definition, users, srmThreshold);

  const analyses = definition.metrics.map((metric) => {
    const analyzed = analyzeOneMetric(plan, metric, statistics);
    const decisions = analyzed.analysis.variants.map((v, i) =>
      decisionTest(plan, metric, v, analyzed.arms[0]!, analyzed.arms[i + 1]!),
    );
    return { metric, ...analyzed, decisions };
  });

  // Non-guardrail metric × variant p-values, corrected within their family (correction_scope).
  // Guardrails watch for harm and are read one by one, so they keep their raw p-values.
  const families = new Map<string, { key: string; pValue: number }[]>();
  analyses.forEach(({ metric, decisions }, m) => {
    if (metric.guardrail) return;
    decisions.forEach((test, i) => {
      const family = familyKey(settings.correction_scope, m, i);
      const members = families.get(family) ?? [];
      members.push({ key: `${m}/${i}`, pValue: test.pValue });
      families.set(family, members);
    });
  });
  const method = CORRECTION_METHOD[definition.correction];
  const adjustedOf = new Map<string, number>();
  for (const members of families.values()) {
    const pValues = members.map((f) => f.pValue);
    const adjusted = method ? adjustPValues(pValues, method) : pValues;
    members.forEach((f, i) => adjustedOf.set(f.key, adjusted[i]!));
  }

  const metrics: MetricResult[] = analyses.map(({ metric, analysis, arms: stats, decisions }, m) => ({
    key: metric.key,
    type: metric.type,
    guardrail: metric.guardrail,
    direction: metric.direction,
    control: { variant: arms[0]!, ...armSummary(analysis.control) },
    variants: analysis.variants.map((v, i) => {
      const test = decisions[i]!;
      const adjustedP = adjustedOf.get(`${m}/${i}`) ?? test.pValue;
      return variantResult(plan, arms[i + 1]!, v, metric, test, adjustedP, () =>
        nonInferiority(plan, metric, v, stats[0]!, stats[i + 1]!),
      );
    }),
  }));
  return { users, srm, metrics };
}

function analyzeOneMetric(
  plan: Plan,
  metric: Metric,
  statistics: PopulationStatistics,
): { analysis: MetricAnalysis; arms: ArmStats[] } {
  const { definition, settings, alpha } = plan;
  const arms = armOrder(definition);
  const byArm = statistics.metrics[metric.key] ?? {};
  const present = arms.map((a) => byArm[a]).find((s): s is ArmStats => s !== undefined);
  const statsOf = (arm: string): ArmStats => byArm[arm] ?? emptyStats(present ?? defaultKind(metric));
  // An arm without pre-period data cannot be compared with a CUPED one: drop the adjustment for all.
  const all = arms.map(statsOf);
  const uniform = all.every((s) => s.kind === all[0]!.kind) ? all : all.map(withoutCuped);
  const { prior } = settings;
  const analysis = analyzeMetric(uniform[0]!, uniform.slice(1), {
    alpha,
    sequential: definition.sequential ? { tuningParameter: settings.sequential_tuning } : false,
    inverse: metric.direction === "decrease",
    ...(prior.enabled ? { prior: { mean: prior.mean, variance: prior.variance, proper: true } } : {}),
  });
  return { analysis, arms: uniform };
}

type AnalyzedVariant = MetricAnalysis["variants"][number];

/** The relative test a decision rests on, with the interval the results show for it. */
interface DecisionTest {
  readonly expected: number;
  readonly ci: readonly [number, number];
  readonly pValue: number;
  readonly errorCode: FrequentistResult["errorCode"];
}

/**
 * Always-valid when the experiment is sequential, else fixed-horizon: two-sided, or one-sided
 * towards the metric's good direction. A one-sided test shows the 1 − 2α interval, whose bound on
 * the bad side is its one-sided 1 − α bound.
 */
function decisionTest(
  plan: Plan,
  metric: Metric,
  v: AnalyzedVariant,
  control: ArmStats,
  variant: ArmStats,
): DecisionTest {
  if (v.sequential) return v.sequential.relative;
  if (plan.settings.test === "two_sided") return v.relative;
  const pair = pairMoments(control, variant);
  const r = oneSidedTTestFromMoments(pair.control, pair.variant, {
    difference: "relative",
    alpha: plan.alpha,
    side: metric.direction === "decrease" ? "lesser" : "greater",
  });
  if (r.errorCode !== null)
    return { expected: r.expected, ci: [0, 0], pValue: r.pValue, errorCode: r.errorCode };
  const half = Math.abs(r.expected - r.bound);
  return {
    expected: r.expected,
    ci: [r.expected - half, r.expected + half],
    pValue: r.pValue,
    errorCode: null,
  };
}

function nonInferiority(
  plan: Plan,
  metric: Metric,
  v: AnalyzedVariant,
  control: ArmStats,
  variant: ArmStats,
): VariantResult["non_inferiority"] {
  const margin = metric.non_inferiority_margin;
  if (!metric.guardrail || margin === undefined) return null;
  const lowerIsBetter = metric.direction === "decrease";
  if (v.sequential) {
    // The always-valid interval, read at its harmful bound: valid at any look, conservative.
    const r = v.sequential.relative;
    const bound = lowerIsBetter ? r.ci[1] : r.ci[0];
    const nonInferior = r.errorCode === null && (lowerIsBetter ? bound < margin : bound > -margin);
    return { margin, bound, p_value: null, non_inferior: nonInferior, error: r.errorCode };
  }
  const pair = pairMoments(control, variant);
  const r = nonInferiorityTestFromMoments(pair.control, pair.variant, {
    margin,
    alpha: plan.alpha,
    lowerIsBetter,
  });
  return { margin, bound: r.bound, p_value: r.pValue, non_inferior: r.nonInferior, error: r.errorCode };
}

function variantResult(
  plan: Plan,
  variant: string,
  v: AnalyzedVariant,
  metric: Metric,
  test: DecisionTest,
  adjustedPValue: number,
  nonInferiorityOf: () => VariantResult["non_inferiority"],
): VariantResult {
  const significant = test.errorCode === null && adjustedPValue < plan.alpha;
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
    non_inferiority: nonInferiorityOf(),
    decision: {
      method: plan.definition.sequential ? "sequential" : "fixed_horizon",
      test: v.sequential ? "two_sided" : plan.settings.test,
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
  plan: Plan,
  point: PopulationStatistics & { readonly date: string },
): CumulativePoint {
  const { definition } = plan;
  const arms = armOrder(definition);
  const metrics: CumulativePoint["metrics"] = {};
  for (const metric of definition.metrics) {
    const { analysis, arms: stats } = analyzeOneMetric(plan, metric, point);
    metrics[metric.key] = Object.fromEntries(
      analysis.variants.map((v, i) => {
        const test = decisionTest(plan, metric, v, stats[0]!, stats[i + 1]!);
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
  if (metric.type === "quantile") {
    return { kind: "quantile", n: 0, level: metric.quantile, quantile: 0, lower: 0, upper: 0 };
  }
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
    case "quantile":
      return { kind: "quantile", n: 0, level: like.level, quantile: 0, lower: 0, upper: 0 };
    case "ratio_cuped":
      return {
        kind: "ratio_cuped",
        n: 0,
        numerator: zero(like.numerator),
        denominator: zero(like.denominator),
        preNumerator: zero(like.preNumerator),
        preDenominator: zero(like.preDenominator),
        products: {
          numeratorDenominator: 0,
          numeratorPreNumerator: 0,
          numeratorPreDenominator: 0,
          denominatorPreNumerator: 0,
          denominatorPreDenominator: 0,
          preNumeratorPreDenominator: 0,
        },
      };
  }
}

function withoutCuped(s: ArmStats): ArmStats {
  if (s.kind === "ratio_cuped") {
    return {
      kind: "ratio",
      n: s.n,
      numerator: s.numerator,
      denominator: s.denominator,
      crossSum: s.products.numeratorDenominator,
    };
  }
  if (s.kind !== "cuped") return s;
  return s.post.kind === "proportion"
    ? { kind: "proportion", n: s.n, sum: s.post.sum }
    : { kind: "mean", n: s.n, sum: s.post.sum, sumSquares: s.post.sumSquares };
}
