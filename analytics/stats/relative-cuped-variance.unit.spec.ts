// The exact relative CUPED variance checked two independent ways: hand-derived closed-form
// numbers on round inputs, and a numerical delta method (finite-difference gradient of the
// estimator times the covariance of the arm means) computed here from the sufficient statistics.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { liftVariance } from "./effect.ts";
import { cupedControl, cupedVariant } from "./testing/statistics.ts";
import { relativeCupedVariance } from "./relative-cuped-variance.ts";
import type { CupedMoments } from "./relative-cuped-variance.ts";
import { armMoments, pooledTheta } from "./sufficient-statistics.ts";
import type { CupedStats } from "./sufficient-statistics.ts";
import { assertClose } from "./testing/assert-close.ts";

function arm(
  n: number,
  postMean: number,
  postVariance: number,
  preVariance: number,
  covariance: number,
  theta: number,
): CupedMoments {
  return {
    n,
    mean: postMean - theta * 10,
    unadjustedMean: postMean,
    variance: postVariance + theta ** 2 * preVariance - 2 * theta * covariance,
    cuped: { theta, postMean, postVariance, preVariance, covariance },
  };
}

describe("relativeCupedVariance (GrowthBook frequentist_variance_relative_cuped)", () => {
  // θ = 0.69, a 12 % lift (10 → 11.2), σ²_post = σ²_pre = 100, cov = 69, n = 2000 per arm.
  const control = arm(2000, 10, 100, 100, 69, 0.69);
  const variant = arm(2000, 11.2, 100, 100, 69, 0.69);

  it("equals the hand-derived closed form on round numbers", () => {
    // variant: (100 + 0.69²·100 − 2·0.69·69) / (2000·10²)                = 52.39 / 200000
    // control: (11.2²/10⁴·100 + 0.69²/10²·100 − 2·0.69·11.2/10³·69) / 2000 = 0.664036 / 2000
    assertClose(relativeCupedVariance(control, variant), 52.39 / 200000 + 0.664036 / 2000, "variance", 1e-13);
    assertClose(relativeCupedVariance(control, variant), 5.93968e-4, "variance", 1e-13);
  });

  it("is what liftVariance uses for CUPED arms; gbstats 0.8.0's plain delta method gave less", () => {
    assertClose(liftVariance(control, variant, "relative"), 5.93968e-4, "liftVariance", 1e-13);
    // 0.8.0: σ²_adj,b/(n ȳ_a²) + σ²_adj,a ȳ_b²/(n ȳ_a⁴) with σ²_adj = 52.39 in both arms.
    const plain = { ...control, cuped: undefined };
    const plainVariant = { ...variant, cuped: undefined };
    assertClose(
      liftVariance(plain, plainVariant, "relative"),
      52.39 / 200000 + (52.39 * 125.44) / (2000 * 10000),
      "0.8.0",
      1e-13,
    );
  });

  it("reduces to the plain delta method on the post period when θ = 0", () => {
    const c = arm(2000, 10, 100, 100, 69, 0);
    const v = arm(2000, 11.2, 100, 100, 69, 0);
    assertClose(
      relativeCupedVariance(c, v),
      100 / (2000 * 100) + (100 * 125.44) / (10000 * 2000),
      "θ = 0",
      1e-13,
    );
  });

  it("matches a numerical delta method on the fixture's sufficient statistics", () => {
    const theta = pooledTheta(cupedControl, cupedVariant);
    const a = armMoments(cupedControl, theta) as CupedMoments;
    const b = armMoments(cupedVariant, theta) as CupedMoments;
    // Mean vector (ȳ_a, x̄_a, ȳ_b, x̄_b) with both pre means at the pooled pre mean: the point
    // the first-order expansion is taken at.
    const preMean = (cupedControl.pre.sum + cupedVariant.pre.sum) / (cupedControl.n + cupedVariant.n);
    const point = [
      cupedControl.post.sum / cupedControl.n,
      preMean,
      cupedVariant.post.sum / cupedVariant.n,
      preMean,
    ];
    const lift = (m: readonly number[]) => (m[2]! - theta * m[3]! - (m[0]! - theta * m[1]!)) / m[0]!;
    const gradient = point.map((value, i) => {
      const h = 1e-5 * Math.abs(value);
      const up = point.map((v, j) => (j === i ? v + h : v));
      const down = point.map((v, j) => (j === i ? v - h : v));
      return (lift(up) - lift(down)) / (2 * h);
    });
    const covarianceOfMeans = (s: CupedStats) => {
      const n = s.n;
      const mean = (x: number) => x / n;
      const vPost = s.post.kind === "mean" ? (s.post.sumSquares - s.post.sum ** 2 / n) / (n - 1) : NaN;
      const vPre = s.pre.kind === "mean" ? (s.pre.sumSquares - s.pre.sum ** 2 / n) / (n - 1) : NaN;
      const cov = (s.crossSum - n * mean(s.post.sum) * mean(s.pre.sum)) / (n - 1);
      return [
        [vPost / n, cov / n],
        [cov / n, vPre / n],
      ] as const;
    };
    const [ca, cb] = [covarianceOfMeans(cupedControl), covarianceOfMeans(cupedVariant)];
    const quad = (g0: number, g1: number, c: readonly (readonly number[])[]) =>
      g0 * g0 * c[0]![0]! + 2 * g0 * g1 * c[0]![1]! + g1 * g1 * c[1]![1]!;
    const numerical = quad(gradient[0]!, gradient[1]!, ca) + quad(gradient[2]!, gradient[3]!, cb);
    assertClose(relativeCupedVariance(a, b), numerical, "numerical delta method", 1e-8);
    // The reference generator's value (gbstats with GrowthBook's current formula): 0.007016687321094194².
    assertClose(Math.sqrt(relativeCupedVariance(a, b)), 0.007016687321094194, "standard error");
  });

  it("is 0 when the control's post mean is 0 (the relative lift is undefined)", () => {
    assert.equal(relativeCupedVariance(arm(10, 0, 1, 1, 0.5, 0.5), arm(10, 1, 1, 1, 0.5, 0.5)), 0);
  });
});
