// Power and minimum detectable effect of a fixed-horizon test of the relative lift, from a metric's
// observed baseline mean and per-unit variance. The variant is assumed to share the control's
// variance, its mean being μ(1 + Δ); the lift's variance is then the delta method's
//   V(Δ) = σ²/(μ² n_v) + σ²(1 + Δ)²/(μ² n_c)
// (liftVariance with equal variances). Power counts both tails of a two-sided test.
import { normalCdf, normalPpf } from "./distributions.ts";

export interface PowerInputs {
  /** Baseline (control) mean; the relative lift is expressed against it. */
  readonly mean: number;
  /** Per-unit variance of the metric (CUPED-adjusted when the analysis adjusts). */
  readonly variance: number;
  readonly controlUsers: number;
  readonly variantUsers: number;
  readonly alpha?: number;
  readonly sides?: 1 | 2;
}

function zAlpha(alpha: number, sides: 1 | 2): number {
  return normalPpf(1 - alpha / sides);
}

/** Standard error of the relative lift estimate when the true lift is `lift`. */
export function relativeLiftStandardError(inputs: PowerInputs, lift: number): number {
  const { mean, variance, controlUsers, variantUsers } = inputs;
  return Math.sqrt(
    variance / (mean ** 2 * variantUsers) + (variance * (1 + lift) ** 2) / (mean ** 2 * controlUsers),
  );
}

/**
 * Probability that the test is significant when the true relative lift is `lift` (> 0 is assumed
 * to be the good direction for one-sided tests): Φ(Δ/se − z) + Φ(−Δ/se − z) two-sided,
 * Φ(Δ/se − z) one-sided, z = Φ⁻¹(1 − α/sides).
 */
export function powerAt(inputs: PowerInputs, lift: number): number {
  const sides = inputs.sides ?? 2;
  const z = zAlpha(inputs.alpha ?? 0.05, sides);
  const ratio = lift / relativeLiftStandardError(inputs, lift);
  return sides === 1 ? normalCdf(ratio - z) : normalCdf(ratio - z) + normalCdf(-ratio - z);
}

/**
 * The smallest positive relative lift detected with probability `power`, neglecting the opposite
 * tail (as power calculators do): the positive root of Δ²μ² = k²σ²(1/n_v + (1 + Δ)²/n_c) with
 * k = z_{1−α/sides} + z_{power}. Infinity when no lift is detectable with these users (μ² ≤ k²σ²/n_c).
 */
export function minimumDetectableEffect(inputs: PowerInputs, power = 0.8): number {
  const k = zAlpha(inputs.alpha ?? 0.05, inputs.sides ?? 2) + normalPpf(power);
  const { mean, variance, controlUsers, variantUsers } = inputs;
  const c = (k ** 2 * variance) / controlUsers;
  const v = (k ** 2 * variance) / variantUsers;
  // (μ² − c)Δ² − 2cΔ − (c + v) = 0
  const a = mean ** 2 - c;
  if (a <= 0) return Infinity;
  return (c + Math.sqrt(c ** 2 + a * (c + v))) / a;
}

/**
 * Users needed in total (all arms) to detect `lift` with probability `power`, the control taking
 * `controlShare` and the variant `variantShare` of them (other arms take the rest): from
 * Δ²μ² = k²σ²(1/(N w_v) + (1 + Δ)²/(N w_c)).
 */
export function usersNeeded(
  target: {
    readonly mean: number;
    readonly variance: number;
    readonly alpha?: number;
    readonly sides?: 1 | 2;
  },
  lift: number,
  shares: { readonly controlShare: number; readonly variantShare: number },
  power = 0.8,
): number {
  const k = zAlpha(target.alpha ?? 0.05, target.sides ?? 2) + normalPpf(power);
  return (
    (k ** 2 * target.variance * (1 / shares.variantShare + (1 + lift) ** 2 / shares.controlShare)) /
    (lift ** 2 * target.mean ** 2)
  );
}
