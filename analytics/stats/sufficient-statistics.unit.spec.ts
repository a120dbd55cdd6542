// Expected values were produced by gbstats 0.8.0 (PyPI) with scipy, via
// analytics/stats/reference/generate_reference.py; they are not computed by this code.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  binaryCupedControl,
  binaryCupedVariant,
  conversionControl,
  conversionVariant,
  cupedControl,
  cupedVariant,
  ratioControl,
  ratioVariant,
  revenueControl,
  revenueVariant,
} from "./testing/statistics.ts";
import { armMoments, pairMoments, pooledTheta, ratioCovariance, stddevOf } from "./sufficient-statistics.ts";
import { assertClose } from "./testing/assert-close.ts";

describe("armMoments", () => {
  it("proportion uses the Bernoulli variance p(1 - p)", () => {
    const a = armMoments(conversionControl);
    const b = armMoments(conversionVariant);
    assertClose(a.mean, 0.1, "control mean");
    assertClose(a.variance, 0.09000000000000001, "control variance");
    assertClose(b.mean, 0.109, "variant mean");
    assertClose(b.variance, 0.097119, "variant variance");
    assert.equal(a.unadjustedMean, a.mean);
  });

  it("mean uses the n - 1 sample variance", () => {
    const a = armMoments(revenueControl);
    const b = armMoments(revenueVariant);
    assertClose(a.mean, 9.9, "control mean");
    assertClose(a.variance, 104.47989597919585, "control variance");
    assertClose(b.mean, 10.3, "variant mean");
    assertClose(b.variance, 99.8578152578937, "variant variance");
    assert.equal(a.unadjustedMean, a.mean);
  });

  it("ratio uses the delta-method variance", () => {
    const a = armMoments(ratioControl);
    const b = armMoments(ratioVariant);
    assertClose(a.mean, 0.19911533637023834, "control mean");
    assertClose(a.variance, 0.031704066403194196, "control variance");
    assertClose(b.mean, 0.2183255754638781, "variant mean");
    assertClose(b.variance, 0.03278422356634339, "variant variance");
    assert.equal(a.unadjustedMean, a.mean);
  });

  it("a 0/1 metric declared as a mean gets the n - 1 sample variance, n/(n - 1) times the proportion's", () => {
    const asMean = armMoments({ kind: "mean", n: 10000, sum: 1000, sumSquares: 1000 });
    assertClose(asMean.variance, (1000 - 1000 ** 2 / 10000) / 9999);
    assertClose(asMean.variance, (10000 / 9999) * armMoments(conversionControl).variance);
  });

  it("ratio covariance of numerator and denominator", () => {
    assertClose(ratioCovariance(ratioControl), 0.8103421140380128);
  });

  it("n < 2 gives zero variance instead of dividing by zero", () => {
    assert.equal(armMoments({ kind: "mean", n: 1, sum: 5, sumSquares: 25 }).variance, 0);
    assert.deepEqual(armMoments({ kind: "mean", n: 0, sum: 0, sumSquares: 0 }), {
      n: 0,
      mean: 0,
      unadjustedMean: 0,
      variance: 0,
    });
    assert.equal(armMoments({ ...ratioControl, n: 1 }).variance, 0);
  });

  it("a ratio with a zero denominator has mean 0 and variance 0", () => {
    const m = armMoments({
      kind: "ratio",
      n: 10,
      numerator: { kind: "mean", sum: 0, sumSquares: 0 },
      denominator: { kind: "mean", sum: 0, sumSquares: 0 },
      crossSum: 0,
    });
    assert.equal(m.mean, 0);
    assert.equal(m.variance, 0);
  });

  it("stddev is 0 for non-positive variance", () => {
    assert.equal(stddevOf(-1e-18), 0);
    assert.equal(stddevOf(4), 2);
  });
});

describe("CUPED (regression adjustment with pooled theta)", () => {
  it("theta is Cov(post, pre) / Var(pre) over both arms", () => {
    assertClose(pooledTheta(cupedControl, cupedVariant), 0.9977579950529591);
    assertClose(pooledTheta(binaryCupedControl, binaryCupedVariant), 0.5426419115761422);
  });

  it("adjusted means and variances, and the variance drops versus unadjusted", () => {
    const pair = pairMoments(cupedControl, cupedVariant);
    assertClose(pair.theta ?? NaN, 0.9977579950529591, "theta");
    assertClose(pair.control.mean, 1.0473737290150211, "control adjusted mean");
    assertClose(pair.control.variance, 20.38255493634805, "control adjusted variance");
    assertClose(pair.control.unadjustedMean, 21.0175, "control unadjusted mean");
    assertClose(pair.variant.mean, 1.6086287651319822, "variant adjusted mean");
    assertClose(pair.variant.variance, 22.24388496889805, "variant adjusted variance");
    const unadjusted = armMoments(cupedControl);
    assertClose(unadjusted.variance, 39.92515632816406, "control unadjusted variance");
    assert.ok(pair.control.variance < 0.6 * unadjusted.variance);
  });

  it("falls back to the unadjusted metric when the pooled pre-period variance is zero", () => {
    const flatPre = {
      ...cupedControl,
      pre: { kind: "mean", sum: 2 * cupedControl.n, sumSquares: 4 * cupedControl.n },
    } as const;
    const flatPreVariant = {
      ...cupedVariant,
      pre: { kind: "mean", sum: 2 * cupedVariant.n, sumSquares: 4 * cupedVariant.n },
    } as const;
    const pair = pairMoments(flatPre, flatPreVariant);
    assert.equal(pair.theta, null);
    assert.equal(pair.control.mean, pair.control.unadjustedMean);
    assertClose(pair.control.variance, 39.92515632816406);
  });

  it("mixing proportion and mean components across arms is rejected", () => {
    assert.throws(
      () => pairMoments(cupedControl, { ...cupedVariant, post: { kind: "proportion", sum: 3 } }),
      /same kind/,
    );
    assert.ok(
      conversionControl.n > 0 && conversionVariant.n > 0 && revenueControl.n > 0 && revenueVariant.n > 0,
    );
  });
});
