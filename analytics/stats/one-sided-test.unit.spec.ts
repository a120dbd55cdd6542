// Expected values from gbstats 0.8.0's OneSidedTreatmentGreater/LesserTTest p-values and scipy
// bounds (reference/generate_reference.py, "oneSided"); the first also follow from the two-sided
// reference numbers: half the two-sided p, and the bound of the alpha = 0.10 two-sided interval.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  conversionControl,
  conversionVariant,
  revenueControl,
  revenueVariant,
} from "./testing/statistics.ts";
import { nonInferiorityTestFromMoments, oneSidedTTestFromMoments } from "./one-sided-test.ts";
import { armMoments } from "./sufficient-statistics.ts";
import { assertClose } from "./testing/assert-close.ts";

const conv = [armMoments(conversionControl), armMoments(conversionVariant)] as const;
const rev = [armMoments(revenueControl), armMoments(revenueVariant)] as const;

describe("oneSidedTTestFromMoments", () => {
  it("greater: half the two-sided p, the bound of the two-sided 90 % interval", () => {
    const r = oneSidedTTestFromMoments(...conv, { side: "greater" });
    assert.equal(r.errorCode, null);
    assertClose(r.pValue, 0.04634087580267643 / 2, "p = two-sided p / 2");
    assertClose(r.pValue, 0.023170437901338214, "p");
    assertClose(r.bound, 0.015695763541135305, "bound");
    assert.deepEqual(r.ci, [r.bound, Infinity]);
    assertClose(r.expected, 0.08999999999999994, "expected");
  });

  it("lesser: the complement p and an upper bound", () => {
    const r = oneSidedTTestFromMoments(...conv, { side: "lesser" });
    assertClose(r.pValue, 0.9768295620986618, "p");
    assertClose(r.bound, 0.16430423645886458, "bound");
    assert.deepEqual(r.ci, [-Infinity, r.bound]);
  });

  it("absolute lift at alpha 0.10", () => {
    const r = oneSidedTTestFromMoments(...rev, { side: "greater", difference: "absolute", alpha: 0.1 });
    assertClose(r.pValue, 0.023407925568432963, "p");
    assertClose(r.bound, 0.1421524340650291, "bound");
  });

  it("keeps the two-sided test's error codes", () => {
    const zero = armMoments({ kind: "mean", n: 100, sum: 0, sumSquares: 0 });
    const r = oneSidedTTestFromMoments(zero, rev[1], { side: "greater" });
    assert.equal(r.errorCode, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(r.pValue, 1);
  });
});

describe("nonInferiorityTestFromMoments", () => {
  it("higher is better: H0 lift ≤ −2 %, rejected (p 0.0018, bound 0.63 %)", () => {
    const r = nonInferiorityTestFromMoments(...rev, { margin: 0.02 });
    assertClose(r.pValue, 0.0018049343489421332, "p");
    assertClose(r.bound, 0.006270518694126925, "bound");
    assert.equal(r.nonInferior, true);
  });

  it("lower is better: H0 lift ≥ +10 %, rejected (upper bound 7.45 %)", () => {
    const r = nonInferiorityTestFromMoments(...rev, { margin: 0.1, lowerIsBetter: true });
    assertClose(r.pValue, 0.0020428799678418423, "p");
    assertClose(r.bound, 0.07453756211395395, "bound");
    assert.equal(r.nonInferior, true);
  });

  it("a +4 % lift is not shown within a 3 % margin when lower is better", () => {
    const r = nonInferiorityTestFromMoments(...rev, { margin: 0.03, lowerIsBetter: true });
    assert.equal(r.nonInferior, false);
    assert.ok(r.pValue > 0.5, `p ${r.pValue}`);
  });
});
