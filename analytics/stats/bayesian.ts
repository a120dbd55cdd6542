// Bayesian effect test as in gbstats 0.8.0 bayesian/tests.py (EffectBayesianABTest): a Gaussian
// likelihood for the lift (same estimate and delta-method variance as the t-test) combined with
// a Gaussian prior on the effect; flat (improper) by default.
import { normalCdf, normalPdf, normalPpf, normalSf } from "./distributions.ts";
import { liftEstimate, liftVariance } from "./effect.ts";
import type { DifferenceType, StatsErrorCode } from "./effect.ts";
import { pairMoments } from "./sufficient-statistics.ts";
import type { ArmStats, Moments } from "./sufficient-statistics.ts";

export interface GaussianPrior {
  readonly mean: number;
  readonly variance: number;
  /** false = flat prior: the posterior is the likelihood and mean/variance are ignored. */
  readonly proper: boolean;
}

export interface BayesianOptions {
  readonly difference?: DifferenceType;
  /** Credible interval covers 1 - alpha. Default 0.05. */
  readonly alpha?: number;
  /** Metric where lower is better: chance to win and the two risks are flipped. */
  readonly inverse?: boolean;
  /** Default { mean: 0, variance: 1, proper: false } (gbstats' GaussianPrior()). */
  readonly prior?: GaussianPrior;
  /**
   * Scale the prior is expressed on. gbstats' runner uses "relative" and rescales it by the
   * control mean (and its square for the variance) when the lift is absolute. Default "relative".
   */
  readonly priorScale?: DifferenceType;
}

export interface BayesianResult {
  readonly difference: DifferenceType;
  /** P(variant better than control) under the posterior. */
  readonly chanceToWin: number;
  /** Posterior mean of the lift. */
  readonly expected: number;
  readonly ci: readonly [number, number];
  /** Posterior standard deviation of the lift. */
  readonly stddev: number;
  /**
   * Expected loss of shipping each arm, in lift units: risk.control is what is lost by keeping
   * control if the variant is better, risk.variant what is lost by shipping a worse variant.
   */
  readonly risk: { readonly control: number; readonly variant: number };
  readonly errorCode: StatsErrorCode | null;
}

const FLAT_PRIOR: GaussianPrior = { mean: 0, variance: 1, proper: false };

function uninformative(difference: DifferenceType, errorCode: StatsErrorCode): BayesianResult {
  return {
    difference,
    chanceToWin: 0.5,
    expected: 0,
    ci: [0, 0],
    stddev: 0,
    risk: { control: 0, variant: 0 },
    errorCode,
  };
}

/**
 * E[max(X, 0)] and E[max(-X, 0)] for X ~ N(mu, sigma²). These equal gbstats' truncated-normal
 * expressions P(X>0)·E[X | X>0] and -P(X<0)·E[X | X<0], in a form that stays finite in the tails.
 */
export function gaussianRisk(mu: number, sigma: number): { control: number; variant: number } {
  const z = mu / sigma;
  const density = sigma * normalPdf(z);
  return {
    control: mu * normalCdf(z) + density,
    variant: -mu * normalCdf(-z) + density,
  };
}

function rescaledPrior(
  prior: GaussianPrior,
  scale: DifferenceType,
  difference: DifferenceType,
  controlMean: number,
) {
  if (scale === difference) return prior;
  if (difference === "relative") {
    return {
      ...prior,
      mean: prior.mean / Math.abs(controlMean),
      variance: prior.variance / controlMean ** 2,
    };
  }
  return { ...prior, mean: prior.mean * Math.abs(controlMean), variance: prior.variance * controlMean ** 2 };
}

export function effectBayesianTestFromMoments(
  control: Moments,
  variant: Moments,
  options: BayesianOptions = {},
): BayesianResult {
  const difference = options.difference ?? "relative";
  const alpha = options.alpha ?? 0.05;
  const inverse = options.inverse ?? false;

  if (difference === "relative" && (control.mean === 0 || control.unadjustedMean === 0)) {
    return uninformative(difference, "ZERO_NEGATIVE_BASELINE_VARIATION");
  }
  if (control.n === 0 || variant.n === 0) return uninformative(difference, "NO_UNITS_IN_VARIATION");
  if (control.variance <= 0 || variant.variance <= 0)
    return uninformative(difference, "ZERO_NEGATIVE_VARIANCE");

  const prior = rescaledPrior(
    options.prior ?? FLAT_PRIOR,
    options.priorScale ?? "relative",
    difference,
    control.unadjustedMean,
  );
  const dataVariance = liftVariance(control, variant, difference);
  const dataMean = liftEstimate(control, variant, difference);
  const posteriorPrecision = 1 / dataVariance + (prior.proper ? 1 / prior.variance : 0);
  const mean = prior.proper
    ? (dataMean / dataVariance + prior.mean / prior.variance) / posteriorPrecision
    : dataMean;
  const sd = Math.sqrt(1 / posteriorPrecision);

  const probabilityBetter = normalSf(0, mean, sd);
  const risk = gaussianRisk(mean, sd);
  return {
    difference,
    chanceToWin: inverse ? 1 - probabilityBetter : probabilityBetter,
    expected: mean,
    ci: [normalPpf(alpha / 2, mean, sd), normalPpf(1 - alpha / 2, mean, sd)],
    stddev: sd,
    risk: inverse ? { control: risk.variant, variant: risk.control } : risk,
    errorCode: null,
  };
}

/** gbstats EffectBayesianABTest, with pooled CUPED when both arms carry pre data. */
export function effectBayesianTest(
  control: ArmStats,
  variant: ArmStats,
  options: BayesianOptions = {},
): BayesianResult {
  const pair = pairMoments(control, variant);
  return effectBayesianTestFromMoments(pair.control, pair.variant, options);
}
