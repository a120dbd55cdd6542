// Expected values were produced by gbstats 0.8.0 (PyPI) with scipy, via
// analytics/stats/reference/generate_reference.py; they are not computed by this code.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { sampleRatioMismatch } from "./srm.ts";
import { assertClose } from "./testing/assert-close.ts";

describe("sampleRatioMismatch (gbstats check_srm)", () => {
  it("5000 vs 5400 at 50/50 is flagged", () => {
    const r = sampleRatioMismatch([5000, 5400], [0.5, 0.5]);
    assertClose(r.pValue, 8.769942375590228e-5);
    assertClose(r.chiSquare, (200 ** 2 / 5200) * 2);
    assert.equal(r.degreesOfFreedom, 1);
    assert.equal(r.flagged, true);
  });

  it("5000 vs 5300 at 50/50 has p ≈ 0.0031: suspicious, but not below the 0.001 threshold", () => {
    const r = sampleRatioMismatch([5000, 5300], [0.5, 0.5]);
    assertClose(r.pValue, 0.003116693839866867);
    assert.equal(r.flagged, false);
    assert.equal(sampleRatioMismatch([5000, 5300], [0.5, 0.5], 0.01).flagged, true);
  });

  it("a balanced split is not flagged", () => {
    const r = sampleRatioMismatch([5000, 5050], [0.5, 0.5]);
    assertClose(r.pValue, 0.6179522266795625);
    assert.equal(r.flagged, false);
  });

  it("three arms with unequal weights", () => {
    assertClose(sampleRatioMismatch([3000, 3100, 3900], [0.3, 0.3, 0.4]).pValue, 0.05411376622282158);
  });

  it("a zero-weight arm adds nothing to chi-square but still counts in the degrees of freedom", () => {
    const r = sampleRatioMismatch([3000, 3100, 10], [0.5, 0.5, 0]);
    assertClose(r.pValue, 0.43757204536571426);
    assert.equal(r.degreesOfFreedom, 2);
  });

  it("no users gives p = 1", () => {
    assert.equal(sampleRatioMismatch([0, 0], [0.5, 0.5]).pValue, 1.0);
  });

  it("rejects mismatched lengths", () => {
    assert.throws(() => sampleRatioMismatch([1, 2], [1]), /one entry per arm/);
  });
});
