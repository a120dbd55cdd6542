// Frequentist tests as in gbstats 0.8.0 frequentist/tests.py: the fixed-horizon Welch t-test
// (TwoSidedTTest) and the always-valid sequential test (SequentialTwoSidedTTest).
import { studentTPpf, studentTSf } from "./distributions.ts";
import { liftEstimate, liftVariance, welchDegreesOfFreedom } from "./effect.ts";
import type { DifferenceType, StatsErrorCode } from "./effect.ts";
import { pairMoments } from "./sufficient-statistics.ts";
import type { ArmStats, Moments } from "./sufficient-statistics.ts";

export interface FrequentistOptions {
  readonly difference?: DifferenceType;
  /** Two-sided level; the interval covers 1 - alpha. Default 0.05. */
  readonly alpha?: number;
  /** Null-hypothesis value of the lift. Default 0. */
  readonly testValue?: number;
}

export interface SequentialOptions extends FrequentistOptions {
  /** gbstats' sequential_tuning_parameter: the sample size the boundary is tightest at. Default 5000. */
  readonly tuningParameter?: number;
}

export interface FrequentistResult {
  readonly difference: DifferenceType;
  /** Lift point estimate (0 when errorCode is set). */
  readonly expected: number;
  readonly ci: readonly [number, number];
  readonly pValue: number;
  /** Standard error of the lift. */
  readonly stddev: number;
  /** Welch degrees of freedom; null for the sequential test or when not computed. */
  readonly dof: number | null;
  /** Set, with expected/ci/pValue at their uninformative defaults, when the test cannot run. */
  readonly errorCode: StatsErrorCode | null;
}

function uninformative(difference: DifferenceType, errorCode: StatsErrorCode): FrequentistResult {
  return { difference, expected: 0, ci: [0, 0], pValue: 1, stddev: 0, dof: null, errorCode };
}

/** The guards gbstats' TTest.compute_result applies before any arithmetic, in its order. */
function frequentistGuard(control: Moments, variant: Moments): StatsErrorCode | null {
  if (control.mean === 0 || control.unadjustedMean === 0) return "ZERO_NEGATIVE_BASELINE_VARIATION";
  if (control.variance <= 0 || variant.variance <= 0) return "ZERO_NEGATIVE_VARIANCE";
  return null;
}

/** Welch two-sided t-test on moments whose CUPED theta (if any) is already applied. */
export function twoSidedTTestFromMoments(
  control: Moments,
  variant: Moments,
  options: FrequentistOptions = {},
): FrequentistResult {
  const difference = options.difference ?? "relative";
  const alpha = options.alpha ?? 0.05;
  const guard = frequentistGuard(control, variant);
  if (guard) return uninformative(difference, guard);

  const expected = liftEstimate(control, variant, difference);
  const stddev = Math.sqrt(liftVariance(control, variant, difference));
  const dof = welchDegreesOfFreedom(control, variant);
  const tStat = (expected - (options.testValue ?? 0)) / stddev;
  const width = studentTPpf(1 - alpha / 2, dof) * stddev;
  return {
    difference,
    expected,
    ci: [expected - width, expected + width],
    // gbstats writes 2(1 - cdf); the survival function is the same value without cancellation.
    pValue: 2 * studentTSf(Math.abs(tStat), dof),
    stddev,
    dof,
    errorCode: null,
  };
}

/** Welch two-sided t-test (gbstats TwoSidedTTest), with pooled CUPED when both arms carry pre data. */
export function twoSidedTTest(
  control: ArmStats,
  variant: ArmStats,
  options: FrequentistOptions = {},
): FrequentistResult {
  const pair = pairMoments(control, variant);
  return twoSidedTTestFromMoments(pair.control, pair.variant, options);
}

/** ρ of the normal-mixture boundary, tuned so the sequence is tightest at `tuningParameter` units. */
export function sequentialRho(alpha: number, tuningParameter: number): number {
  // Waudby-Smith et al. (2023) eq. 161, as gbstats uses it.
  const logAlpha = Math.log(alpha);
  return Math.sqrt((-2 * logAlpha + Math.log(-2 * logAlpha + 1)) / tuningParameter);
}

/**
 * Always-valid confidence sequence and p-value (gbstats SequentialTwoSidedTTest): safe to look
 * at after every refresh. N counts units in both arms; the per-unit variance is the lift
 * variance scaled by N.
 */
export function sequentialTwoSidedTTestFromMoments(
  control: Moments,
  variant: Moments,
  options: SequentialOptions = {},
): FrequentistResult {
  const difference = options.difference ?? "relative";
  const alpha = options.alpha ?? 0.05;
  const guard = frequentistGuard(control, variant);
  if (guard) return uninformative(difference, guard);

  const expected = liftEstimate(control, variant, difference);
  const variance = liftVariance(control, variant, difference);
  const total = control.n + variant.n;
  const rho = sequentialRho(alpha, options.tuningParameter ?? 5000);
  const nRho2Plus1 = total * rho ** 2 + 1;

  // Confidence sequence half-width, eq. 9 of Waudby-Smith et al.
  const width =
    Math.sqrt(variance * total) *
    Math.sqrt((2 * nRho2Plus1 * Math.log(Math.sqrt(nRho2Plus1) / alpha)) / (total * rho) ** 2);

  // p-value = 1 / e-value (eq. 155), capped at 1.
  const standardized2 = ((expected - (options.testValue ?? 0)) ** 2 * total) / variance;
  const eValue = Math.exp((rho ** 2 * standardized2) / (2 * nRho2Plus1)) / Math.sqrt(nRho2Plus1);
  return {
    difference,
    expected,
    ci: [expected - width, expected + width],
    pValue: Math.min(1 / eValue, 1),
    stddev: Math.sqrt(variance),
    dof: null,
    errorCode: null,
  };
}

export function sequentialTwoSidedTTest(
  control: ArmStats,
  variant: ArmStats,
  options: SequentialOptions = {},
): FrequentistResult {
  const pair = pairMoments(control, variant);
  return sequentialTwoSidedTTestFromMoments(pair.control, pair.variant, options);
}
