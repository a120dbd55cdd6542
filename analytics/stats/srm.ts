// Sample ratio mismatch: Pearson chi-square goodness of fit of observed users per arm against the
// configured traffic weights (gbstats utils.check_srm).
import { chiSquareSf } from "./distributions.ts";

/** GrowthBook's default: a split this unlikely under the configured weights is reported. */
export const DEFAULT_SRM_THRESHOLD = 0.001;

export interface SrmResult {
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** pValue < threshold. */
  readonly flagged: boolean;
}

/**
 * Arms with weight <= 0 add nothing to the statistic but still count towards the degrees of
 * freedom (arms - 1), as in gbstats. No users at all gives p = 1.
 */
export function sampleRatioMismatch(
  users: readonly number[],
  weights: readonly number[],
  threshold = DEFAULT_SRM_THRESHOLD,
): SrmResult {
  if (users.length !== weights.length) {
    throw new Error(
      `users and weights must have one entry per arm; received ${users.length} users and ${weights.length} weights`,
    );
  }
  const degreesOfFreedom = users.length - 1;
  const totalObserved = users.reduce((a, b) => a + b, 0);
  if (totalObserved === 0) return { chiSquare: 0, degreesOfFreedom, pValue: 1, flagged: false };

  const totalWeight = weights.reduce((a, b) => a + b, 0);
  let chiSquare = 0;
  users.forEach((observed, i) => {
    const weight = weights[i] as number;
    if (weight <= 0) return;
    const expected = (weight / totalWeight) * totalObserved;
    chiSquare += (observed - expected) ** 2 / expected;
  });
  const pValue = chiSquareSf(chiSquare, degreesOfFreedom);
  return { chiSquare, degreesOfFreedom, pValue, flagged: pValue < threshold };
}
