// Point estimate and delta-method variance of the lift, shared by the frequentist and Bayesian
// tests (gbstats frequentist_diff / frequentist_variance).
import { relativeRatioCupedVariance } from "./ratio-cuped.ts";
import { hasCupedComponents, relativeCupedVariance } from "./relative-cuped-variance.ts";
import type { Moments } from "./sufficient-statistics.ts";

export type DifferenceType = "relative" | "absolute";

/** Reasons gbstats returns an uninformative result instead of a number; same strings. */
export type StatsErrorCode =
  "ZERO_NEGATIVE_BASELINE_VARIATION" | "ZERO_NEGATIVE_VARIANCE" | "NO_UNITS_IN_VARIATION";

/**
 * Lift of the variant over the control. Relative lift divides by the control's unadjusted mean,
 * so with CUPED it is the adjusted difference expressed as a share of the observed baseline.
 */
export function liftEstimate(control: Moments, variant: Moments, difference: DifferenceType): number {
  const diff = variant.mean - control.mean;
  if (difference === "absolute") return diff;
  // gbstats falls back to the adjusted mean when the unadjusted one is 0 (falsy in Python).
  const base = control.unadjustedMean === 0 ? control.mean : control.unadjustedMean;
  return diff / base;
}

/**
 * Variance of the lift estimate. The relative form is the first-order delta method for
 * (μ_b - μ_a) / μ_a with independent arms: σ_b²/(μ_a² n_b) + σ_a² μ_b² / (μ_a⁴ n_a); for CUPED
 * arms it is the exact form over post and pre terms (`relativeCupedVariance`).
 */
export function liftVariance(control: Moments, variant: Moments, difference: DifferenceType): number {
  if (difference === "absolute") return variant.variance / variant.n + control.variance / control.n;
  if (hasCupedComponents(control) && hasCupedComponents(variant)) {
    return relativeCupedVariance(control, variant);
  }
  if (control.ratioCuped && variant.ratioCuped) {
    return relativeRatioCupedVariance(
      { n: control.n, ratioCuped: control.ratioCuped },
      { n: variant.n, ratioCuped: variant.ratioCuped },
    );
  }
  const ma = control.unadjustedMean;
  const mb = variant.unadjustedMean;
  return variant.variance / (ma ** 2 * variant.n) + (control.variance * mb ** 2) / (ma ** 4 * control.n);
}

/** Welch–Satterthwaite degrees of freedom on the per-unit variances (same for both lift types). */
export function welchDegreesOfFreedom(control: Moments, variant: Moments): number {
  const va = control.variance;
  const vb = variant.variance;
  const numerator = (vb / variant.n + va / control.n) ** 2;
  const denominator =
    vb ** 2 / (variant.n ** 2 * (variant.n - 1)) + va ** 2 / (control.n ** 2 * (control.n - 1));
  return numerator / denominator;
}
