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
import { sequentialRho, sequentialTwoSidedTTest, twoSidedTTest } from "./frequentist.ts";
import type { MeanStats } from "./sufficient-statistics.ts";
import { assertClose, assertCloseAll } from "./testing/assert-close.ts";

describe("twoSidedTTest (gbstats TwoSidedTTest)", () => {
  it("conversion: relative lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(conversionControl, conversionVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [0.0014597821167822156, 0.17854021788321767], "ci");
    assertClose(r.pValue, 0.04634087580267643, "pValue");
    assertClose(r.stddev, 0.04517167253932491, "stddev");
    assertClose(r.dof ?? NaN, 19969.095822794454, "dof");
  });

  it("conversion: absolute lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(conversionControl, conversionVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.008999999999999994, "expected");
    assertCloseAll(r.ci, [0.0005212201481319106, 0.017478779851868076], "ci");
    assertClose(r.pValue, 0.03748545724046659, "pValue");
    assertClose(r.stddev, 0.004325725372697624, "stddev");
    assertClose(r.dof ?? NaN, 19969.095822794454, "dof");
  });

  it("revenue (mean): relative lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(revenueControl, revenueVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.040404040404040435, "expected");
    assertCloseAll(r.ci, [-0.0002697053364300317, 0.0810777861445109], "ci");
    assertClose(r.pValue, 0.0515383284809765, "pValue");
    assertClose(r.stddev, 0.02074980054210421, "stddev");
    assertClose(r.dof ?? NaN, 10079.862964315877, "dof");
  });

  it("revenue (mean): absolute lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(revenueControl, revenueVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.40000000000000036, "expected");
    assertCloseAll(r.ci, [0.005634667211653177, 0.7943653327883475], "ci");
    assertClose(r.pValue, 0.04681585113686593, "pValue");
    assertClose(r.stddev, 0.20118633892960217, "stddev");
    assertClose(r.dof ?? NaN, 10079.862964315877, "dof");
  });

  it("ratio: relative lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(ratioControl, ratioVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.09647794812710919, "expected");
    assertCloseAll(r.ci, [0.0489738116453242, 0.14398208460889417], "ci");
    assertClose(r.pValue, 6.931991794134618e-5, "pValue");
    assertClose(r.stddev, 0.02423243772731766, "stddev");
    assertClose(r.dof ?? NaN, 6096.430589472402, "dof");
  });

  it("ratio: absolute lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(ratioControl, ratioVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.019210239093639753, "expected");
    assertCloseAll(r.ci, [0.010196114325413919, 0.028224363861865588], "ci");
    assertClose(r.pValue, 2.985052261217369e-5, "pValue");
    assertClose(r.stddev, 0.004598214666970334, "stddev");
    assertClose(r.dof ?? NaN, 6096.430589472402, "dof");
  });

  it("CUPED: relative lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(cupedControl, cupedVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.026704176810608354, "expected");
    assertCloseAll(r.ci, [0.0129476076512875, 0.04046074596992921], "ci");
    assertClose(r.pValue, 0.0001434308676602214, "pValue");
    assertClose(r.stddev, 0.007016687321094194, "stddev");
    assertClose(r.dof ?? NaN, 4046.5412006222878, "dof");
  });

  it("CUPED: absolute lift, CI, p-value and Welch dof", () => {
    const r = twoSidedTTest(cupedControl, cupedVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.561255036116961, "expected");
    assertCloseAll(r.ci, [0.2768606391923194, 0.8456494330416027], "ci");
    assertClose(r.pValue, 0.00011092789452882279, "pValue");
    assertClose(r.stddev, 0.14505844705758586, "stddev");
    assertClose(r.dof ?? NaN, 4046.5412006222878, "dof");
  });

  it("honours alpha = 0.10 (narrower interval, same p-value)", () => {
    const r = twoSidedTTest(conversionControl, conversionVariant, { alpha: 0.1 });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [0.015695763541135305, 0.16430423645886458], "ci");
    assertClose(r.pValue, 0.04634087580267643, "pValue");
    assertClose(r.stddev, 0.04517167253932491, "stddev");
    assertClose(r.dof ?? NaN, 19969.095822794454, "dof");
  });

  it("CUPED narrows the interval versus the unadjusted post-period t-test", () => {
    const adjusted = twoSidedTTest(cupedControl, cupedVariant, { difference: "absolute" });
    const unadjusted = twoSidedTTest(
      { kind: "mean", n: cupedControl.n, sum: 42035, sumSquares: 963281 },
      { kind: "mean", n: cupedVariant.n, sum: 44547, sumSquares: 1055391 },
      { difference: "absolute" },
    );
    assertClose(unadjusted.stddev, 0.20190007705891633, "unadjusted stddev");
    assertClose(unadjusted.pValue, 0.0004198985707297709, "unadjusted pValue");
    assertCloseAll(unadjusted.ci, [0.31690865955807773, 1.108579145319975], "unadjusted ci");
    assert.ok(adjusted.stddev < 0.75 * unadjusted.stddev, "adjusted standard error should drop by > 25%");
  });

  it("CUPED with binary post and pre metrics", () => {
    const r = twoSidedTTest(binaryCupedControl, binaryCupedVariant);
    assertClose(r.expected, 0.11808806371920481, "expected");
    assertClose(r.pValue, 0.06006651693843357, "pValue");
    assertCloseAll(r.ci, [-0.0050075212484652215, 0.24118364868687486], "ci");
  });

  it("zero control mean is flagged, not NaN", () => {
    const r = twoSidedTTest(
      { kind: "mean", n: 100, sum: 0, sumSquares: 0 },
      { kind: "mean", n: 100, sum: 10, sumSquares: 20 },
    );
    assert.deepEqual(r, {
      difference: "relative",
      expected: 0,
      ci: [0, 0],
      pValue: 1,
      stddev: 0,
      dof: null,
      errorCode: "ZERO_NEGATIVE_BASELINE_VARIATION",
    });
  });

  it("a single user in an arm has no variance and is flagged", () => {
    const r = twoSidedTTest(
      { kind: "mean", n: 1, sum: 3, sumSquares: 9 },
      { kind: "mean", n: 100, sum: 10, sumSquares: 20 },
    );
    assert.equal(r.errorCode, "ZERO_NEGATIVE_VARIANCE");
    assert.equal(r.pValue, 1);
  });

  it("zero variance is flagged for absolute lifts too", () => {
    const r = twoSidedTTest(
      { kind: "mean", n: 100, sum: 200, sumSquares: 400 },
      { kind: "mean", n: 100, sum: 210, sumSquares: 500 },
      { difference: "absolute" },
    );
    assert.equal(r.errorCode, "ZERO_NEGATIVE_VARIANCE");
    assert.deepEqual(r.ci, [0, 0]);
  });

  it("an empty variant is flagged as zero variance", () => {
    const empty: MeanStats = { kind: "mean", n: 0, sum: 0, sumSquares: 0 };
    assert.equal(twoSidedTTest(revenueControl, empty).errorCode, "ZERO_NEGATIVE_VARIANCE");
  });

  it("rejects arms of different statistic kinds", () => {
    assert.throws(() => twoSidedTTest(conversionControl, revenueVariant), /same statistic kind/);
  });
});

describe("sequentialTwoSidedTTest (gbstats SequentialTwoSidedTTest)", () => {
  it("conversion: relative confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(conversionControl, conversionVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [-0.051256976091765355, 0.23125697609176524], "ci");
    assertClose(r.pValue, 0.8354018446667318, "pValue");
  });

  it("conversion: absolute confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(conversionControl, conversionVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.008999999999999994, "expected");
    assertCloseAll(r.ci, [-0.00452703699467275, 0.02252703699467274], "ci");
    assertClose(r.pValue, 0.7019245268618604, "pValue");
  });

  it("revenue (mean): relative confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(revenueControl, revenueVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.040404040404040435, "expected");
    assertCloseAll(r.ci, [-0.023136070958591763, 0.10394415176667263], "ci");
    assertClose(r.pValue, 0.692834714849709, "pValue");
  });

  it("revenue (mean): absolute confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(revenueControl, revenueVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.40000000000000036, "expected");
    assertCloseAll(r.ci, [-0.21607350655192525, 1.016073506551926], "ci");
    assertClose(r.pValue, 0.6421635370036575, "pValue");
  });

  it("ratio: relative confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(ratioControl, ratioVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.09647794812710919, "expected");
    assertCloseAll(r.ci, [0.022883565310847787, 0.1700723309433706], "ci");
    assertClose(r.pValue, 0.0024803390308404255, "pValue");
  });

  it("ratio: absolute confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(ratioControl, ratioVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.019210239093639753, "expected");
    assertCloseAll(r.ci, [0.0052453720719915255, 0.03317510611528798], "ci");
    assertClose(r.pValue, 0.0011998038828552149, "pValue");
  });

  it("CUPED: relative confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(cupedControl, cupedVariant, { difference: "relative" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.026704176810608354, "expected");
    assertCloseAll(r.ci, [0.005374422151333717, 0.048033931469882996], "ci");
    assertClose(r.pValue, 0.005171918960740228, "pValue");
  });

  it("CUPED: absolute confidence sequence and p-value", () => {
    const r = sequentialTwoSidedTTest(cupedControl, cupedVariant, { difference: "absolute" });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.561255036116961, "expected");
    assertCloseAll(r.ci, [0.12029750938037098, 1.002212562853551], "ci");
    assertClose(r.pValue, 0.004190621454677094, "pValue");
  });

  it("tuning parameter 1000 gives a wider sequence; the p-value caps at 1", () => {
    const r = sequentialTwoSidedTTest(conversionControl, conversionVariant, { tuningParameter: 1000 });
    assert.equal(r.errorCode, null);
    assertClose(r.expected, 0.08999999999999994, "expected");
    assertCloseAll(r.ci, [-0.060731435826587576, 0.24073143582658746], "ci");
    assertClose(r.pValue, 1.0, "pValue");
  });

  it("is wider than the fixed-horizon interval on the same data", () => {
    const fixed = twoSidedTTest(conversionControl, conversionVariant);
    const sequential = sequentialTwoSidedTTest(conversionControl, conversionVariant);
    assert.ok(sequential.ci[1] - sequential.ci[0] > fixed.ci[1] - fixed.ci[0]);
    assert.ok(sequential.pValue > fixed.pValue);
  });

  it("rho follows eq. 161 of Waudby-Smith et al.", () => {
    // sqrt((-2 ln 0.05 + ln(-2 ln 0.05 + 1)) / 5000)
    assertClose(
      sequentialRho(0.05, 5000),
      Math.sqrt((-2 * Math.log(0.05) + Math.log(-2 * Math.log(0.05) + 1)) / 5000),
    );
  });
});
