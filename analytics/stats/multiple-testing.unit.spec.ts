// Expected values are statsmodels.stats.multitest.multipletests(method="holm" | "fdr_bh") outputs
// (the same procedures GrowthBook applies), via analytics/stats/reference/generate_reference.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { adjustKeyedPValues, adjustPValues, benjaminiHochberg, holmBonferroni } from "./multiple-testing.ts";
import { assertCloseAll } from "./testing/assert-close.ts";

const pValues = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.7];

describe("multiple-testing correction", () => {
  it("Holm–Bonferroni adjusted p-values, in input order, with ties", () => {
    assertCloseAll(holmBonferroni(pValues), [0.06, 0.16, 0.15, 0.035, 0.4, 0.16, 0.7], "holm");
  });

  it("Benjamini–Hochberg adjusted p-values, in input order, with ties", () => {
    assertCloseAll(
      benjaminiHochberg(pValues),
      [0.035, 0.056, 0.056, 0.035, 0.23333333333333336, 0.056, 0.7],
      "bh",
    );
  });

  it("caps at 1 and handles empty and single inputs", () => {
    assert.deepEqual(holmBonferroni([0.6, 0.7]), [1, 1]);
    assert.deepEqual(benjaminiHochberg([]), []);
    assert.deepEqual(adjustPValues([0.03], "holm-bonferroni"), [0.03]);
  });

  it("keyed p-values keep their keys", () => {
    const out = adjustKeyedPValues(
      [
        { key: "revenue/b", pValue: 0.01 },
        { key: "revenue/c", pValue: 0.04 },
        { key: "conversion/b", pValue: 0.03 },
      ],
      "benjamini-hochberg",
    );
    assert.deepEqual(
      out.map((o) => o.key),
      ["revenue/b", "revenue/c", "conversion/b"],
    );
    assertCloseAll(
      out.map((o) => o.adjustedPValue),
      [0.03, 0.04, 0.04],
    );
  });
});
