// Expected numbers from Python's statistics.NormalDist on the same cells:
//   I = (0.18 − 0.10) − (0.12 − 0.10) = 0.06, se = √(0.09/400 + 0.1056/400 + 0.09/300 + 0.1476/300),
//   p = 2(1 − Φ(I/se)), lower = I − Φ⁻¹(0.975)·se.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { interactionTest } from "./interaction.ts";
import { assertClose } from "./testing/assert-close.ts";

// Conversion rates p with Bernoulli variances p(1 − p).
const cell = (n: number, p: number) => ({ n, mean: p, variance: p * (1 - p) });

describe("interactionTest", () => {
  it("difference-in-differences of the 2×2 cells, z-test", () => {
    const r = interactionTest({
      a0b0: cell(400, 0.1),
      a1b0: cell(400, 0.12),
      a0b1: cell(300, 0.1),
      a1b1: cell(300, 0.18),
    });
    assert.equal(r.errorCode, null);
    assertClose(r.estimate, 0.06, "interaction");
    assertClose(r.stddev, 0.03579106033634656, "se");
    assertClose(r.pValue, 0.09366059931466975, "p");
    assertClose(r.ci[0], -0.010149189227739275, "ci low");
    assertClose(r.ci[1], 0.12 + 0.010149189227739275, "ci high");
  });

  it("no interaction when A's lift is the same with and without B", () => {
    const r = interactionTest({
      a0b0: cell(400, 0.1),
      a1b0: cell(400, 0.12),
      a0b1: cell(300, 0.2),
      a1b1: cell(300, 0.22),
    });
    assertClose(r.estimate, 0, "interaction");
    assertClose(r.pValue, 1, "p");
  });

  it("a cell with fewer than two users cannot be tested", () => {
    const r = interactionTest({
      a0b0: cell(1, 0.1),
      a1b0: cell(400, 0.12),
      a0b1: cell(300, 0.1),
      a1b1: cell(300, 0.18),
    });
    assert.equal(r.errorCode, "NOT_ENOUGH_UNITS");
    assert.equal(r.pValue, 1);
  });
});
