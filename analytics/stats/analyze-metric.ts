// One metric of one experiment: every variant against the control, with the frequentist,
// optional sequential and Bayesian views, CUPED when the arms carry pre-period data, and SRM.
import { effectBayesianTestFromMoments } from "./bayesian.ts";
import type { BayesianResult, GaussianPrior } from "./bayesian.ts";
import { sequentialTwoSidedTTestFromMoments, twoSidedTTestFromMoments } from "./frequentist.ts";
import type { FrequentistResult } from "./frequentist.ts";
import { sampleRatioMismatch } from "./srm.ts";
import type { SrmResult } from "./srm.ts";
import { armMoments, pairMoments, stddevOf } from "./sufficient-statistics.ts";
import type { ArmStats, CupedStats, Moments, RatioCupedStats } from "./sufficient-statistics.ts";
import { ratioOfPostPeriod } from "./ratio-cuped.ts";

export interface AnalyzeMetricOptions {
  /** Default 0.05, for confidence/credible intervals. */
  readonly alpha?: number;
  /** Add the always-valid sequential results; `true` uses tuning parameter 5000. */
  readonly sequential?: boolean | { readonly tuningParameter: number };
  /** Lower is better (e.g. latency): flips Bayesian chance to win and risks. */
  readonly inverse?: boolean;
  /** Prior on the relative effect (gbstats' runner convention). Default flat. */
  readonly prior?: GaussianPrior;
  /**
   * Configured traffic weights, control first then each variant. When given, SRM is computed
   * on users per arm.
   */
  readonly weights?: readonly number[];
  readonly srmThreshold?: number;
}

export interface ArmSummary {
  readonly users: number;
  /** Observed (unadjusted) mean: conversion rate, mean per user, or Σnum/Σden for ratios. */
  readonly mean: number;
  /** Observed per-unit variance (post-period only for CUPED metrics). */
  readonly variance: number;
  readonly stddev: number;
}

export interface CupedSummary {
  /** Pooled θ; null when a pooled variance was zero and the unadjusted metric was used. */
  readonly theta: number | null;
  /** Adjusted mean and per-unit variance; gbstats' runner reports this stddev for CUPED arms. */
  readonly control: { readonly mean: number; readonly variance: number; readonly stddev: number };
  readonly variant: { readonly mean: number; readonly variance: number; readonly stddev: number };
  /** The same t-tests without adjustment, to show what CUPED bought. */
  readonly unadjusted: { readonly absolute: FrequentistResult; readonly relative: FrequentistResult };
}

export interface VariantAnalysis extends ArmSummary {
  readonly absolute: FrequentistResult;
  readonly relative: FrequentistResult;
  readonly sequential: { readonly absolute: FrequentistResult; readonly relative: FrequentistResult } | null;
  readonly bayesian: { readonly absolute: BayesianResult; readonly relative: BayesianResult };
  /** Present for CUPED metrics; absolute/relative/sequential/bayesian above are already adjusted. */
  readonly cuped: CupedSummary | null;
}

export interface MetricAnalysis {
  readonly control: ArmSummary;
  readonly variants: VariantAnalysis[];
  readonly srm: SrmResult | null;
}

function summarize(stats: ArmStats): ArmSummary {
  const m = armMoments(stats);
  return { users: stats.n, mean: m.unadjustedMean, variance: m.variance, stddev: stddevOf(m.variance) };
}

function adjustedSummary(m: Moments) {
  return { mean: m.mean, variance: m.variance, stddev: stddevOf(m.variance) };
}

function postOnly(stats: CupedStats | RatioCupedStats): ArmStats {
  if (stats.kind === "ratio_cuped") return ratioOfPostPeriod(stats);
  return stats.post.kind === "proportion"
    ? { kind: "proportion", n: stats.n, sum: stats.post.sum }
    : { kind: "mean", n: stats.n, sum: stats.post.sum, sumSquares: stats.post.sumSquares };
}

function frequentistPair(control: Moments, variant: Moments, alpha: number) {
  return {
    absolute: twoSidedTTestFromMoments(control, variant, { difference: "absolute", alpha }),
    relative: twoSidedTTestFromMoments(control, variant, { difference: "relative", alpha }),
  };
}

function analyzeVariant(
  control: ArmStats,
  variant: ArmStats,
  options: AnalyzeMetricOptions,
): VariantAnalysis {
  const alpha = options.alpha ?? 0.05;
  const pair = pairMoments(control, variant);
  const frequentist = frequentistPair(pair.control, pair.variant, alpha);

  let sequential: VariantAnalysis["sequential"] = null;
  if (options.sequential) {
    const tuningParameter = options.sequential === true ? 5000 : options.sequential.tuningParameter;
    const run = (difference: "absolute" | "relative") =>
      sequentialTwoSidedTTestFromMoments(pair.control, pair.variant, { difference, alpha, tuningParameter });
    sequential = { absolute: run("absolute"), relative: run("relative") };
  }

  const bayesianOptions = {
    alpha,
    inverse: options.inverse ?? false,
    ...(options.prior ? { prior: options.prior } : {}),
  };
  const bayesian = {
    absolute: effectBayesianTestFromMoments(pair.control, pair.variant, {
      ...bayesianOptions,
      difference: "absolute",
    }),
    relative: effectBayesianTestFromMoments(pair.control, pair.variant, {
      ...bayesianOptions,
      difference: "relative",
    }),
  };

  let cuped: CupedSummary | null = null;
  if (
    (control.kind === "cuped" && variant.kind === "cuped") ||
    (control.kind === "ratio_cuped" && variant.kind === "ratio_cuped")
  ) {
    const raw = pairMoments(postOnly(control), postOnly(variant));
    cuped = {
      theta: pair.theta,
      control: adjustedSummary(pair.control),
      variant: adjustedSummary(pair.variant),
      unadjusted: frequentistPair(raw.control, raw.variant, alpha),
    };
  }

  return { ...summarize(variant), ...frequentist, sequential, bayesian, cuped };
}

/**
 * Analyses one metric. `control` and every variant must use the same statistic kind. Arms that
 * cannot be compared (no users, zero variance, zero control mean) come back with errorCode set
 * and uninformative numbers, never NaN.
 */
export function analyzeMetric(
  control: ArmStats,
  variants: readonly ArmStats[],
  options: AnalyzeMetricOptions = {},
): MetricAnalysis {
  let srm: SrmResult | null = null;
  if (options.weights) {
    srm = sampleRatioMismatch(
      [control.n, ...variants.map((v) => v.n)],
      options.weights,
      ...(options.srmThreshold === undefined ? [] : [options.srmThreshold]),
    );
  }
  return {
    control: summarize(control),
    variants: variants.map((v) => analyzeVariant(control, v, options)),
    srm,
  };
}
