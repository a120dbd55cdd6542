// Interaction between two experiments on a shared metric: among users exposed to both, the
// difference-in-differences of the 2×2 cell means,
//   I = (μ[a1,b1] − μ[a0,b1]) − (μ[a1,b0] − μ[a0,b0]),
// i.e. how much experiment A's lift changes with B's treatment. Cells are independent groups of
// users, so Var(I) = Σ σ²_cell / n_cell; the test is a two-sided z-test (large samples).
import { normalPpf, normalSf } from "./distributions.ts";

export interface CellMoments {
  readonly n: number;
  readonly mean: number;
  /** Per-unit variance. */
  readonly variance: number;
}

export interface InteractionResult {
  readonly estimate: number;
  readonly stddev: number;
  readonly ci: readonly [number, number];
  readonly pValue: number;
  /** Set when a cell has fewer than 2 users or the variance is 0: estimate 0, p 1. */
  readonly errorCode: "NOT_ENOUGH_UNITS" | null;
}

export function interactionTest(
  cells: {
    readonly a0b0: CellMoments;
    readonly a1b0: CellMoments;
    readonly a0b1: CellMoments;
    readonly a1b1: CellMoments;
  },
  alpha = 0.05,
): InteractionResult {
  const all = [cells.a0b0, cells.a1b0, cells.a0b1, cells.a1b1];
  const variance = all.reduce((total, c) => total + (c.n > 0 ? c.variance / c.n : 0), 0);
  if (all.some((c) => c.n < 2) || variance <= 0) {
    return { estimate: 0, stddev: 0, ci: [0, 0], pValue: 1, errorCode: "NOT_ENOUGH_UNITS" };
  }
  const estimate = cells.a1b1.mean - cells.a0b1.mean - (cells.a1b0.mean - cells.a0b0.mean);
  const stddev = Math.sqrt(variance);
  const half = normalPpf(1 - alpha / 2) * stddev;
  return {
    estimate,
    stddev,
    ci: [estimate - half, estimate + half],
    pValue: Math.min(1, 2 * normalSf(Math.abs(estimate) / stddev)),
    errorCode: null,
  };
}
