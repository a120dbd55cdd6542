// Quantile metrics: ranks and variance worked out by hand (z = Φ⁻¹(0.975) = 1.959963984540054),
// the interval's coverage from the exact binomial distribution, and the lift tests on them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { twoSidedTTest } from "./frequentist.ts";
import {
  QUANTILE_Z,
  quantileRanks,
  quantileStatsOf,
  quantileTooFewUnits,
  quantileVariance,
} from "./quantile.ts";
import { assertClose } from "./testing/assert-close.ts";

const Z = 1.959963984540054;

/** P(lo ≤ B ≤ hi) for B ~ Binomial(n, p), summed in log space. */
function binomialBetween(n: number, p: number, lo: number, hi: number): number {
  let logChoose = 0;
  let total = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logChoose += Math.log((n - k + 1) / k);
    if (k >= lo && k <= hi) total += Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log(1 - p));
  }
  return total;
}

describe("quantile metrics", () => {
  it("z is the 97.5 % normal quantile", () => {
    assertClose(QUANTILE_Z, Z, "z", 1e-14);
  });

  it("ranks: n ν ∓ z √(n ν (1 − ν)), widened to whole ranks", () => {
    // n = 100, ν = 0.5: spread = z · 5 = 9.79981992…, so ranks 40 … 60 around 50.
    assert.deepEqual(quantileRanks(100, 0.5), { estimate: 50, lower: 40, upper: 60 });
    // n = 1000, ν = 0.9: spread = z · √90 = 18.5938…, so 881 … 919 around 900.
    assert.deepEqual(quantileRanks(1000, 0.9), { estimate: 900, lower: 881, upper: 919 });
    // Clamped to the data at the edges.
    assert.deepEqual(quantileRanks(10, 0.9), { estimate: 9, lower: 7, upper: 10 });
  });

  it("the interval [X(l), X(u)] covers the true quantile with the binomial probability P(l ≤ B < u) ≥ 95 %", () => {
    for (const [n, level] of [
      [100, 0.5],
      [1000, 0.9],
      [400, 0.25],
    ] as const) {
      const r = quantileRanks(n, level);
      const coverage = binomialBetween(n, level, r.lower, r.upper - 1);
      assert.ok(coverage >= 0.95 && coverage < 0.97, `n ${n} ν ${level}: coverage ${coverage}`);
    }
  });

  it("per-unit variance (n − 1)((upper − lower)/2z)² on the values 1 … 100", () => {
    const s = quantileStatsOf(
      Array.from({ length: 100 }, (_, i) => 100 - i),
      0.5,
    );
    assert.deepEqual([s.n, s.quantile, s.lower, s.upper], [100, 50, 40, 60]);
    assertClose(quantileVariance(s), (99 * 100) / Z ** 2, "variance");
    assertClose(quantileVariance(s), 2577.145939107, "variance", 1e-11);
  });

  it("too few users for the interval: variance 0 and the tests' ZERO_NEGATIVE_VARIANCE", () => {
    // ν = 0.9 needs n > z² · 9 = 34.57.
    const small = quantileStatsOf(
      Array.from({ length: 34 }, (_, i) => i),
      0.9,
    );
    assert.equal(quantileTooFewUnits(small), true);
    assert.equal(quantileVariance(small), 0);
    assert.equal(
      quantileTooFewUnits(
        quantileStatsOf(
          Array.from({ length: 35 }, (_, i) => i),
          0.9,
        ),
      ),
      false,
    );
    const big = quantileStatsOf(
      Array.from({ length: 100 }, (_, i) => i + 1),
      0.9,
    );
    assert.equal(twoSidedTTest(small, big).errorCode, "ZERO_NEGATIVE_VARIANCE");
  });

  it("relative lift of p50 between arms with the delta-method standard error", () => {
    const a = quantileStatsOf(
      Array.from({ length: 100 }, (_, i) => i + 1),
      0.5,
    );
    const b = quantileStatsOf(
      Array.from({ length: 100 }, (_, i) => 2 * (i + 1)),
      0.5,
    );
    // a: 50 [40, 60]; b: 100 [80, 120]. σ²_a = 99·(20/2z)², σ²_b = 99·(40/2z)².
    const va = 99 * (10 / Z) ** 2;
    const vb = 99 * (20 / Z) ** 2;
    const r = twoSidedTTest(a, b, { difference: "relative" });
    assertClose(r.expected, 1, "lift");
    assertClose(r.stddev, Math.sqrt(vb / (50 ** 2 * 100) + (va * 100 ** 2) / (50 ** 4 * 100)), "se");
    const abs = twoSidedTTest(a, b, { difference: "absolute" });
    assertClose(abs.stddev, Math.sqrt(va / 100 + vb / 100), "absolute se");
  });
});
