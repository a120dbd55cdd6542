// Variance of the relative lift of a CUPED (regression-adjusted) metric, the way GrowthBook's
// gbstats computes it after 0.8.0 (`frequentist_variance_relative_cuped`).
import type { CupedComponents, Moments } from "./sufficient-statistics.ts";

export type CupedMoments = Moments & { readonly cuped: CupedComponents };

export function hasCupedComponents(m: Moments): m is CupedMoments {
  return m.cuped !== undefined;
}

/**
 * First-order delta method for the relative lift
 *   Δ = ((ȳ_b − θ·x̄_b) − (ȳ_a − θ·x̄_a)) / ȳ_a
 * (ȳ post-period means, x̄ pre-period means, θ the pooled coefficient taken as fixed), with the
 * gradient taken where the arms' pre-period means are equal, which randomisation makes them in
 * expectation. Per arm the gradient over (ȳ, x̄) is
 *   variant (1/ȳ_a, −θ/ȳ_a),   control (−ȳ_b/ȳ_a², θ/ȳ_a),
 * and the variance is Σ_arm (g_ȳ²·σ²_post + g_x̄²·σ²_pre + 2·g_ȳ·g_x̄·cov) / n.
 *
 * The plain delta method on the adjusted variances (gbstats 0.8.0) scales the control's whole
 * adjusted variance by ȳ_b²/ȳ_a⁴, including its pre-period terms whose gradient does not
 * carry ȳ_b; the error grows with the lift. Returns 0 when the control's post mean is 0, where
 * the relative lift is undefined (callers report that case before asking).
 */
export function relativeCupedVariance(control: CupedMoments, variant: CupedMoments): number {
  const baseline = control.cuped.postMean;
  if (baseline === 0 || control.n === 0 || variant.n === 0) return 0;
  const theta = control.cuped.theta;
  const armTerm = (arm: CupedComponents, n: number, gradPost: number, gradPre: number): number =>
    (gradPost ** 2 * arm.postVariance +
      gradPre ** 2 * arm.preVariance +
      2 * gradPost * gradPre * arm.covariance) /
    n;
  return (
    armTerm(variant.cuped, variant.n, 1 / baseline, -theta / baseline) +
    armTerm(control.cuped, control.n, -variant.cuped.postMean / baseline ** 2, theta / baseline)
  );
}
