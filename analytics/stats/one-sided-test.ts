// One-sided Welch t-tests (gbstats OneSidedTreatmentGreaterTTest / OneSidedTreatmentLesserTTest):
// the same estimate, standard error and degrees of freedom as the two-sided test, with the whole
// alpha on one side. Also the non-inferiority test of a guardrail, which is a one-sided test
// against the margin instead of 0.
import { studentTPpf, studentTSf } from "./distributions.ts";
import type { DifferenceType } from "./effect.ts";
import { twoSidedTTestFromMoments } from "./frequentist.ts";
import type { FrequentistResult } from "./frequentist.ts";
import type { Moments } from "./sufficient-statistics.ts";

/** "greater": H1 is a lift above testValue; "lesser": below it. */
export type Side = "greater" | "lesser";

export interface OneSidedOptions {
  readonly difference?: DifferenceType;
  readonly alpha?: number;
  readonly testValue?: number;
  readonly side: Side;
}

export interface OneSidedResult extends FrequentistResult {
  readonly side: Side;
  /** The one-sided 1 − alpha confidence bound: lower for "greater", upper for "lesser". */
  readonly bound: number;
}

/**
 * `ci` is [bound, +∞] for "greater" and [−∞, bound] for "lesser" (as gbstats); the p-value is
 * P(T ≥ t) or P(T ≤ t) for t = (estimate − testValue) / se.
 */
export function oneSidedTTestFromMoments(
  control: Moments,
  variant: Moments,
  options: OneSidedOptions,
): OneSidedResult {
  const alpha = options.alpha ?? 0.05;
  const testValue = options.testValue ?? 0;
  // The two-sided test supplies the guards, estimate, standard error and dof.
  const base = twoSidedTTestFromMoments(control, variant, {
    alpha,
    testValue,
    ...(options.difference ? { difference: options.difference } : {}),
  });
  if (base.errorCode !== null || base.dof === null) {
    return { ...base, side: options.side, bound: 0 };
  }
  const t = (base.expected - testValue) / base.stddev;
  const width = studentTPpf(1 - alpha, base.dof) * base.stddev;
  if (options.side === "greater") {
    const bound = base.expected - width;
    return { ...base, side: "greater", bound, ci: [bound, Infinity], pValue: studentTSf(t, base.dof) };
  }
  const bound = base.expected + width;
  return { ...base, side: "lesser", bound, ci: [-Infinity, bound], pValue: studentTSf(-t, base.dof) };
}

export interface NonInferiorityResult {
  /** Relative harm tolerated, positive (0.02 = 2 %). */
  readonly margin: number;
  /** One-sided bound of the relative lift on the harmful side. */
  readonly bound: number;
  /** p of H0 "the lift is worse than the margin"; non-inferior when below alpha. */
  readonly pValue: number;
  readonly nonInferior: boolean;
  readonly errorCode: FrequentistResult["errorCode"];
}

/**
 * Non-inferiority of the relative lift: for a metric where higher is better, H0 lift ≤ −margin
 * against H1 lift > −margin; where lower is better, H0 lift ≥ +margin against H1 lift < +margin.
 */
export function nonInferiorityTestFromMoments(
  control: Moments,
  variant: Moments,
  options: { readonly margin: number; readonly alpha?: number; readonly lowerIsBetter?: boolean },
): NonInferiorityResult {
  const alpha = options.alpha ?? 0.05;
  const lowerIsBetter = options.lowerIsBetter ?? false;
  const r = oneSidedTTestFromMoments(control, variant, {
    difference: "relative",
    alpha,
    side: lowerIsBetter ? "lesser" : "greater",
    testValue: lowerIsBetter ? options.margin : -options.margin,
  });
  return {
    margin: options.margin,
    bound: r.bound,
    pValue: r.pValue,
    nonInferior: r.errorCode === null && r.pValue < alpha,
    errorCode: r.errorCode,
  };
}
