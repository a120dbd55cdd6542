// CUPED for ratio metrics (GrowthBook's RegressionAdjustedRatioStatistic): each arm's ratio
// R = Σm/Σd is adjusted by the same ratio over the pre-exposure period, R − θ·R_pre, with θ pooled
// over both arms. Everything follows from the delta method over the four per-user means
// (m, d, m_pre, d_pre) and their 4×4 sample covariance.
import type { ComponentSums } from "./sufficient-statistics.ts";

/** Per-user numerator and denominator over the analysis window and over the pre-period. */
export interface RatioCupedStats {
  readonly kind: "ratio_cuped";
  readonly n: number;
  readonly numerator: ComponentSums;
  readonly denominator: ComponentSums;
  readonly preNumerator: ComponentSums;
  readonly preDenominator: ComponentSums;
  /** Σ over users of the products of the four per-user values. */
  readonly products: {
    readonly numeratorDenominator: number;
    readonly numeratorPreNumerator: number;
    readonly numeratorPreDenominator: number;
    readonly denominatorPreNumerator: number;
    readonly denominatorPreDenominator: number;
    readonly preNumeratorPreDenominator: number;
  };
}

/** Means of (m, d, m_pre, d_pre) and their per-unit covariance matrix. */
export interface RatioCupedComponents {
  readonly theta: number;
  readonly means: readonly [number, number, number, number];
  readonly covariance: readonly (readonly number[])[];
}

function variance(c: ComponentSums, n: number): number {
  if (c.kind === "proportion") {
    const p = n === 0 ? 0 : c.sum / n;
    return p * (1 - p);
  }
  return n <= 1 ? 0 : (c.sumSquares - (c.sum * c.sum) / n) / (n - 1);
}

function covariance(product: number, a: ComponentSums, b: ComponentSums, n: number): number {
  return n <= 1 ? 0 : (product - (a.sum * b.sum) / n) / (n - 1);
}

/** The four means and the 4×4 sample covariance (n − 1; Bernoulli variance for proportions). */
export function ratioCupedMoments(s: RatioCupedStats): Omit<RatioCupedComponents, "theta"> {
  const parts = [s.numerator, s.denominator, s.preNumerator, s.preDenominator] as const;
  const p = s.products;
  const cross = [
    [NaN, p.numeratorDenominator, p.numeratorPreNumerator, p.numeratorPreDenominator],
    [p.numeratorDenominator, NaN, p.denominatorPreNumerator, p.denominatorPreDenominator],
    [p.numeratorPreNumerator, p.denominatorPreNumerator, NaN, p.preNumeratorPreDenominator],
    [p.numeratorPreDenominator, p.denominatorPreDenominator, p.preNumeratorPreDenominator, NaN],
  ];
  const matrix = parts.map((a, i) =>
    parts.map((b, j) => (i === j ? variance(a, s.n) : covariance(cross[i]![j]!, a, b, s.n))),
  );
  const mean = (c: ComponentSums) => (s.n === 0 ? 0 : c.sum / s.n);
  return {
    means: [mean(parts[0]), mean(parts[1]), mean(parts[2]), mean(parts[3])],
    covariance: matrix,
  };
}

/** gᵀ Σ h over the index pairs (rows from `gi`, columns from `hi`). */
function quadratic(
  sigma: readonly (readonly number[])[],
  g: readonly number[],
  gi: readonly number[],
  h: readonly number[],
  hi: readonly number[],
): number {
  let total = 0;
  gi.forEach((row, a) => hi.forEach((col, b) => (total += g[a]! * sigma[row]![col]! * h[b]!)));
  return total;
}

/** Gradients of R = m/d over (m, d). */
function ratioGradient(m: number, d: number): [number, number] {
  return [1 / d, -m / d ** 2];
}

interface ArmParts {
  readonly means: readonly [number, number, number, number];
  readonly covariance: readonly (readonly number[])[];
}

/** Per-unit Var(R_pre) and Cov(R_post, R_pre) by the delta method; 0 when a denominator mean is 0. */
function preTerms(arm: ArmParts): { preVariance: number; covariance: number } {
  const [m, d, mp, dp] = arm.means;
  if (d === 0 || dp === 0) return { preVariance: 0, covariance: 0 };
  const gPost = ratioGradient(m, d);
  const gPre = ratioGradient(mp, dp);
  return {
    preVariance: quadratic(arm.covariance, gPre, [2, 3], gPre, [2, 3]),
    covariance: quadratic(arm.covariance, gPost, [0, 1], gPre, [2, 3]),
  };
}

/**
 * θ = (Cov_a + Cov_b) / (Var_a + Var_b) of the per-unit delta-method Cov(R_post, R_pre) and
 * Var(R_pre) of both arms (gbstats' compute_theta_regression_adjusted_ratio); 0 when the pre-period
 * ratio has no variance.
 */
export function pooledRatioTheta(a: RatioCupedStats, b: RatioCupedStats): number {
  const ta = preTerms(ratioCupedMoments(a));
  const tb = preTerms(ratioCupedMoments(b));
  const denominator = ta.preVariance + tb.preVariance;
  return denominator === 0 ? 0 : (ta.covariance + tb.covariance) / denominator;
}

/** Gradient of the adjusted ratio R_post − θ·R_pre over (m, d, m_pre, d_pre); zero on a zero denominator. */
function adjustedGradient(means: readonly number[], theta: number): number[] {
  const [m, d, mp, dp] = means as [number, number, number, number];
  if (d === 0 || dp === 0) return [0, 0, 0, 0];
  const [g0, g1] = ratioGradient(m, d);
  const [h0, h1] = ratioGradient(mp, dp);
  return [g0, g1, -theta * h0, -theta * h1];
}

const ALL = [0, 1, 2, 3];

/** Adjusted mean, the unadjusted ratio and the per-unit variance of one arm at `theta`. */
export function ratioCupedArm(s: RatioCupedStats, theta: number) {
  const parts = ratioCupedMoments(s);
  const [m, d, mp, dp] = parts.means;
  const post = d === 0 ? 0 : m / d;
  const pre = dp === 0 ? 0 : mp / dp;
  const gradient = adjustedGradient(parts.means, theta);
  return {
    mean: d === 0 || dp === 0 ? 0 : post - theta * pre,
    unadjustedMean: post,
    variance: s.n <= 1 ? 0 : quadratic(parts.covariance, gradient, ALL, gradient, ALL),
    components: { theta, ...parts } satisfies RatioCupedComponents,
  };
}

/**
 * Variance of the relative lift ((R_b − θR_pre,b) − (R_a − θR_pre,a)) / |R_a| by the delta method
 * over both arms' four means (gbstats' frequentist_variance_relative_cuped_ratio): the variant's
 * gradient is its adjusted-ratio gradient over |R_a|; the control's post gradient carries the
 * derivative of the baseline too, −(|R_a| + Δ_abs)/|R_a|² times R_a's own gradient.
 */
export function relativeRatioCupedVariance(
  control: { readonly n: number; readonly ratioCuped: RatioCupedComponents },
  variant: { readonly n: number; readonly ratioCuped: RatioCupedComponents },
): number {
  const a = control.ratioCuped;
  const b = variant.ratioCuped;
  const theta = a.theta;
  const [ma, da, mpa, dpa] = a.means;
  const [mb, db, mpb, dpb] = b.means;
  if (da === 0 || ma === 0 || dpa === 0 || db === 0 || dpb === 0) return 0;
  const baseline = Math.abs(ma / da);
  const absolute = mb / db - theta * (mpb / dpb) - (ma / da - theta * (mpa / dpa));
  const scale = -(baseline + absolute) / baseline ** 2;
  const [g0, g1] = ratioGradient(ma, da);
  const [h0, h1] = ratioGradient(mpa, dpa);
  const controlGradient = [scale * g0, scale * g1, (theta * h0) / baseline, (theta * h1) / baseline];
  const variantGradient = adjustedGradient(b.means, theta).map((g) => g / baseline);
  return (
    quadratic(a.covariance, controlGradient, ALL, controlGradient, ALL) / control.n +
    quadratic(b.covariance, variantGradient, ALL, variantGradient, ALL) / variant.n
  );
}

/** The unadjusted ratio statistics of the analysis window alone. */
export function ratioOfPostPeriod(s: RatioCupedStats) {
  return {
    kind: "ratio" as const,
    n: s.n,
    numerator: s.numerator,
    denominator: s.denominator,
    crossSum: s.products.numeratorDenominator,
  };
}
