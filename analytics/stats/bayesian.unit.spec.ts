// Expected values were produced by gbstats 0.8.0 (PyPI) with scipy, via
// analytics/stats/reference/generate_reference.py; they are not computed by this code.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { effectBayesianTest, gaussianRisk } from "./bayesian.ts";
import {
  conversionControl,
  conversionVariant,
  cupedControl,
  cupedVariant,
  ratioControl,
  ratioVariant,
  revenueControl,
  revenueVariant,
} from "./testing/statistics.ts";
import { assertClose, assertCloseAll } from "./testing/assert-close.ts";

describe("effectBayesianTest (gbstats EffectBayesianABTest, flat prior)", () => {
  it("conversion: relative chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(conversionControl, conversionVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9768363573365102, "chanceToWin");
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [0.0014651487014861325, 0.1785348512985137], "ci");
    assertClose(r.stddev, 0.04517167253932491, "stddev");
    assertClose(r.risk.control, 0.09039142119299802, "risk.control");
    assertClose(r.risk.variant, 0.00039142119299808803, "risk.variant");
  });

  it("conversion: absolute chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(conversionControl, conversionVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9812636295637787, "chanceToWin");
    assertClose(r.expected, 0.008999999999999994, "expected");
    assertCloseAll(r.ci, [0.0005217340625015467, 0.01747826593749844], "ci");
    assertClose(r.stddev, 0.004325725372697624, "stddev");
    assertClose(r.risk.control, 0.009029517556216225, "risk.control");
    assertClose(r.risk.variant, 2.951755621623179e-5, "risk.variant");
  });

  it("revenue (mean): relative chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(revenueControl, revenueVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9742447022826068, "chanceToWin");
    assertClose(r.expected, 0.040404040404040435, "expected");
    assertCloseAll(r.ci, [-0.00026482134487351705, 0.08107290215295437], "ci");
    assertClose(r.stddev, 0.02074980054210421, "stddev");
    assertClose(r.risk.control, 0.040606762528962614, "risk.control");
    assertClose(r.risk.variant, 0.00020272212492217505, "risk.variant");
  });

  it("revenue (mean): absolute chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(revenueControl, revenueVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9766055754329401, "chanceToWin");
    assertClose(r.expected, 0.40000000000000036, "expected");
    assertCloseAll(r.ci, [0.005682021516511426, 0.7943179784834893], "ci");
    assertClose(r.stddev, 0.20118633892960217, "stddev");
    assertClose(r.risk.control, 0.401762953462336, "risk.control");
    assertClose(r.risk.variant, 0.0017629534623356375, "risk.variant");
  });

  it("ratio: relative chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(ratioControl, ratioVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9999657383066844, "chanceToWin");
    assertClose(r.expected, 0.09647794812710919, "expected");
    assertCloseAll(r.ci, [0.04898324292395693, 0.14397265333026144], "ci");
    assertClose(r.stddev, 0.02423243772731766, "stddev");
    assertClose(r.risk.control, 0.09647813616122498, "risk.control");
    assertClose(r.risk.variant, 1.8803411579039963e-7, "risk.variant");
  });

  it("ratio: absolute chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(ratioControl, ratioVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9999852803225968, "chanceToWin");
    assertClose(r.expected, 0.019210239093639753, "expected");
    assertCloseAll(r.ci, [0.010197903953194058, 0.028222574234085446], "ci");
    assertClose(r.stddev, 0.004598214666970334, "stddev");
    assertClose(r.risk.control, 0.019210253820649056, "risk.control");
    assertClose(r.risk.variant, 1.4727009303895797e-8, "risk.variant");
  });

  it("CUPED: relative chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(cupedControl, cupedVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9999293294910035, "chanceToWin");
    assertClose(r.expected, 0.026704176810608354, "expected");
    assertCloseAll(r.ci, [0.012951722370484897, 0.04045663125073181], "ci");
    assertClose(r.stddev, 0.007016687321094194, "stddev");
    assertClose(r.risk.control, 0.026704293350262365, "risk.control");
    assertClose(r.risk.variant, 1.1653965400836684e-7, "risk.variant");
  });

  it("CUPED: absolute chance to win, risk and credible interval", () => {
    const r = effectBayesianTest(cupedControl, cupedVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9999453955932853, "chanceToWin");
    assertClose(r.expected, 0.561255036116961, "expected");
    assertCloseAll(r.ci, [0.2769457042307825, 0.8455643680031395], "ci");
    assertClose(r.stddev, 0.14505844705758586, "stddev");
    assertClose(r.risk.control, 0.5612568727203311, "risk.control");
    assertClose(r.risk.variant, 1.836603370059981e-6, "risk.variant");
  });
});

describe("effectBayesianTest with a proper prior and inverse metrics", () => {
  it("relative lift shrinks towards a N(0, 0.1²) prior", () => {
    const r = effectBayesianTest(conversionControl, conversionVariant, {
      prior: { mean: 0, variance: 0.01, proper: true },
    });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9652951167433014, "chanceToWin");
    assertClose(r.expected, 0.07474785058402983, "expected");
    assertCloseAll(r.ci, [-0.005937067398427809, 0.15543276856648744], "ci");
    assertClose(r.stddev, 0.041166530925511875, "stddev");
    assertClose(r.risk.control, 0.07531263957583458, "risk.control");
    assertClose(r.risk.variant, 0.0005647889918047557, "risk.variant");
  });

  it("a relative-scale prior is rescaled by the control mean for absolute lifts", () => {
    const r = effectBayesianTest(conversionControl, conversionVariant, {
      difference: "absolute",
      prior: { mean: 0.01, variance: 0.04, proper: true },
    });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.9795293924009085, "chanceToWin");
    assertClose(r.expected, 0.008642486396971277, "expected");
    assertCloseAll(r.ci, [0.00035582909781619286, 0.01692914369612636], "ci");
    assertClose(r.stddev, 0.004227964066951831, "stddev");
    assertClose(r.risk.control, 0.00867435635081637, "risk.control");
    assertClose(r.risk.variant, 3.186995384509466e-5, "risk.variant");
  });

  it("inverse metrics flip chance to win and the two risks", () => {
    const r = effectBayesianTest(conversionControl, conversionVariant, { inverse: true });
    assert.equal(r.errorCode, null);
    assertClose(r.chanceToWin, 0.023163642663489803, "chanceToWin");
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [0.0014651487014861325, 0.1785348512985137], "ci");
    assertClose(r.stddev, 0.04517167253932491, "stddev");
    assertClose(r.risk.control, 0.00039142119299808803, "risk.control");
    assertClose(r.risk.variant, 0.09039142119299802, "risk.variant");
  });

  it("an empty arm is flagged with gbstats' uninformative output", () => {
    const r = effectBayesianTest(
      { kind: "mean", n: 100, sum: 200, sumSquares: 500 },
      { kind: "mean", n: 0, sum: 0, sumSquares: 0 },
      { difference: "absolute" },
    );
    assert.deepEqual(r, {
      difference: "absolute",
      chanceToWin: 0.5,
      expected: 0,
      ci: [0, 0],
      stddev: 0,
      risk: { control: 0, variant: 0 },
      errorCode: "NO_UNITS_IN_VARIATION",
    });
  });

  it("zero control mean: relative is flagged as a zero baseline, absolute as zero variance", () => {
    const control = { kind: "mean", n: 100, sum: 0, sumSquares: 0 } as const;
    const variant = { kind: "mean", n: 100, sum: 10, sumSquares: 20 } as const;
    assert.equal(effectBayesianTest(control, variant).errorCode, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(
      effectBayesianTest(control, variant, { difference: "absolute" }).errorCode,
      "ZERO_NEGATIVE_VARIANCE",
    );
  });

  it("risk stays finite far in the tails", () => {
    const r = gaussianRisk(50, 1);
    assertClose(r.control, 50);
    assert.ok(r.variant >= 0 && r.variant < 1e-300);
  });
});
