// Per-arm sufficient statistics (what SQL over per-user totals produces) and the mean and
// variance gbstats 0.8.0 derives from them (gbstats/models/statistics.py). Variances are
// per-unit: the tests divide by n.
import { pooledRatioTheta, ratioCupedArm, ratioOfPostPeriod } from "./ratio-cuped.ts";
import type { RatioCupedComponents, RatioCupedStats } from "./ratio-cuped.ts";
import { quantileVariance } from "./quantile.ts";
import type { QuantileStats } from "./quantile.ts";

export type { RatioCupedStats } from "./ratio-cuped.ts";
export type { QuantileStats } from "./quantile.ts";

/** A per-user quantity summarised by its sum and sum of squares (sample variance, n - 1). */
export interface MeanSums {
  readonly kind: "mean";
  readonly sum: number;
  readonly sumSquares: number;
}

/**
 * A per-user 0/1 quantity. gbstats uses the Bernoulli variance p(1 - p) here, not the n - 1
 * sample variance, so a conversion metric must be declared as a proportion to match it.
 */
export interface ProportionSums {
  readonly kind: "proportion";
  readonly sum: number;
}

export type ComponentSums = MeanSums | ProportionSums;

export type MeanStats = MeanSums & { readonly n: number };
export type ProportionStats = ProportionSums & { readonly n: number };

/** Ratio of two per-user sums (e.g. revenue per order), analysed with the delta method. */
export interface RatioStats {
  readonly kind: "ratio";
  readonly n: number;
  readonly numerator: ComponentSums;
  readonly denominator: ComponentSums;
  /** Σ numerator_i · denominator_i over users. */
  readonly crossSum: number;
}

/** Post-period metric with a pre-period covariate for CUPED / regression adjustment. */
export interface CupedStats {
  readonly kind: "cuped";
  readonly n: number;
  readonly post: ComponentSums;
  readonly pre: ComponentSums;
  /** Σ post_i · pre_i over users. */
  readonly crossSum: number;
}

export type ArmStats =
  MeanStats | ProportionStats | RatioStats | CupedStats | RatioCupedStats | QuantileStats;

/** What the tests need from one arm once theta (for CUPED) is fixed. */
export interface Moments {
  readonly n: number;
  /** Regression-adjusted mean for CUPED, the plain mean otherwise. */
  readonly mean: number;
  /** The mean before any adjustment: relative lifts are divided by the control's. */
  readonly unadjustedMean: number;
  /** Per-unit variance. */
  readonly variance: number;
  /**
   * The regression-adjustment parts of a CUPED arm, which the exact relative lift variance
   * needs (`relativeCupedVariance`); absent for every other kind.
   */
  readonly cuped?: CupedComponents;
  /** The same for a CUPED ratio arm (`relativeRatioCupedVariance`). */
  readonly ratioCuped?: RatioCupedComponents;
}

/** Per-unit moments of a CUPED arm's post and pre values with the θ applied to it. */
export interface CupedComponents {
  readonly theta: number;
  readonly postMean: number;
  readonly postVariance: number;
  readonly preVariance: number;
  /** Per-unit Cov(post, pre). */
  readonly covariance: number;
}

function sumSquaresOf(c: ComponentSums): number {
  return c.kind === "proportion" ? c.sum : c.sumSquares;
}

export function componentMean(c: ComponentSums, n: number): number {
  return n === 0 ? 0 : c.sum / n;
}

export function componentVariance(c: ComponentSums, n: number): number {
  if (c.kind === "proportion") {
    const p = componentMean(c, n);
    return p * (1 - p);
  }
  if (n <= 1) return 0;
  return (c.sumSquares - (c.sum * c.sum) / n) / (n - 1);
}

function sampleCovariance(crossSum: number, sumX: number, sumY: number, n: number): number {
  if (n <= 1) return 0;
  return (crossSum - (sumX * sumY) / n) / (n - 1);
}

export function ratioCovariance(s: RatioStats): number {
  return sampleCovariance(s.crossSum, s.numerator.sum, s.denominator.sum, s.n);
}

export function cupedCovariance(s: CupedStats): number {
  return sampleCovariance(s.crossSum, s.post.sum, s.pre.sum, s.n);
}

/** Delta-method variance of Σm / Σd per unit. */
function ratioVariance(s: RatioStats): number {
  const meanD = componentMean(s.denominator, s.n);
  if (meanD === 0 || s.n <= 1) return 0;
  const meanM = componentMean(s.numerator, s.n);
  return (
    componentVariance(s.numerator, s.n) / meanD ** 2 -
    (2 * ratioCovariance(s) * meanM) / meanD ** 3 +
    (meanM ** 2 * componentVariance(s.denominator, s.n)) / meanD ** 4
  );
}

/**
 * Moments of one arm. For CUPED, `theta` is the pooled coefficient from `pooledTheta`; with
 * theta = 0 the result is exactly the unadjusted post-period metric.
 */
export function armMoments(s: ArmStats, theta = 0): Moments {
  switch (s.kind) {
    case "mean":
    case "proportion": {
      const mean = componentMean(s, s.n);
      return { n: s.n, mean, unadjustedMean: mean, variance: componentVariance(s, s.n) };
    }
    case "ratio": {
      const sumD = s.denominator.sum;
      const mean = sumD === 0 ? 0 : s.numerator.sum / sumD;
      return { n: s.n, mean, unadjustedMean: mean, variance: ratioVariance(s) };
    }
    case "quantile":
      return { n: s.n, mean: s.quantile, unadjustedMean: s.quantile, variance: quantileVariance(s) };
    case "ratio_cuped": {
      const arm = ratioCupedArm(s, theta);
      return {
        n: s.n,
        mean: arm.mean,
        unadjustedMean: arm.unadjustedMean,
        variance: arm.variance,
        ratioCuped: arm.components,
      };
    }
    case "cuped": {
      const postMean = componentMean(s.post, s.n);
      const postVariance = componentVariance(s.post, s.n);
      const preVariance = componentVariance(s.pre, s.n);
      const covariance = cupedCovariance(s);
      const variance = s.n <= 1 ? 0 : postVariance + theta ** 2 * preVariance - 2 * theta * covariance;
      return {
        n: s.n,
        mean: postMean - theta * componentMean(s.pre, s.n),
        unadjustedMean: postMean,
        variance,
        cuped: { theta, postMean, postVariance, preVariance, covariance },
      };
    }
  }
}

function joinComponents(a: ComponentSums, b: ComponentSums): ComponentSums {
  if (a.kind === "proportion" && b.kind === "proportion") return { kind: "proportion", sum: a.sum + b.sum };
  return { kind: "mean", sum: a.sum + b.sum, sumSquares: sumSquaresOf(a) + sumSquaresOf(b) };
}

/**
 * CUPED coefficient θ = Cov(post, pre) / Var(pre), estimated on both arms pooled (as gbstats
 * does) so the adjustment cannot itself create a difference between arms. Returns 0 when either
 * pooled variance is zero, which gbstats treats as "fall back to the unadjusted metric".
 */
export function pooledTheta(a: CupedStats, b: CupedStats): number {
  const n = a.n + b.n;
  const post = joinComponents(a.post, b.post);
  const pre = joinComponents(a.pre, b.pre);
  const preVariance = componentVariance(pre, n);
  if (preVariance === 0 || componentVariance(post, n) === 0) return 0;
  return sampleCovariance(a.crossSum + b.crossSum, post.sum, pre.sum, n) / preVariance;
}

export interface PairedMoments {
  readonly control: Moments;
  readonly variant: Moments;
  /** Pooled CUPED theta, or null when the metric has no pre-period covariate or θ = 0. */
  readonly theta: number | null;
}

/** Moments for a control/variant pair, applying pooled CUPED when both arms carry pre data. */
export function pairMoments(control: ArmStats, variant: ArmStats): PairedMoments {
  if (control.kind !== variant.kind) {
    throw new Error(
      `control and variant must use the same statistic kind; received control "${control.kind}" and variant "${variant.kind}"`,
    );
  }
  if (control.kind === "cuped" && variant.kind === "cuped") {
    if (control.post.kind !== variant.post.kind || control.pre.kind !== variant.pre.kind) {
      throw new Error(
        "CUPED post and pre components must be the same kind (mean or proportion) in both arms",
      );
    }
    const theta = pooledTheta(control, variant);
    return {
      control: armMoments(control, theta),
      variant: armMoments(variant, theta),
      theta: theta === 0 ? null : theta,
    };
  }
  if (control.kind === "ratio_cuped" && variant.kind === "ratio_cuped") {
    const theta = pooledRatioTheta(control, variant);
    // As gbstats: a θ this small means the pre-period carries nothing; use the plain ratio.
    if (Math.abs(theta) < 1e-8) {
      return {
        control: armMoments(ratioOfPostPeriod(control)),
        variant: armMoments(ratioOfPostPeriod(variant)),
        theta: null,
      };
    }
    return { control: armMoments(control, theta), variant: armMoments(variant, theta), theta };
  }
  return { control: armMoments(control), variant: armMoments(variant), theta: null };
}

/** sqrt of a variance, 0 when the variance is not positive (as gbstats' Statistic.stddev). */
export function stddevOf(variance: number): number {
  return variance <= 0 ? 0 : Math.sqrt(variance);
}
