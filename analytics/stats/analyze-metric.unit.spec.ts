// Expected values were produced by gbstats 0.8.0's own runner (gbstats.process_single_metric on
// SQL-shaped rows, relative lift, equal weights) via analytics/stats/reference/generate_reference.py.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { analyzeMetric } from "./analyze-metric.ts";
import {
  conversionControl,
  conversionVariant,
  cupedControl,
  cupedVariant,
  revenueControl,
} from "./testing/statistics.ts";
import type { ProportionStats } from "./sufficient-statistics.ts";
import { assertClose, assertCloseAll } from "./testing/assert-close.ts";

const losingVariant: ProportionStats = { kind: "proportion", n: 9800, sum: 950 };

describe("analyzeMetric", () => {
  it("conversion metric, control and two variants: matches gbstats' frequentist, sequential and Bayesian runner", () => {
    const result = analyzeMetric(conversionControl, [conversionVariant, losingVariant], {
      sequential: true,
      weights: [1 / 3, 1 / 3, 1 / 3],
    });
    assertClose(result.srm?.pValue ?? NaN, 0.26124884959037464, "srm");
    assert.equal(result.srm?.flagged, false);
    assert.equal(result.control.users, 10000);
    assertClose(result.control.mean, 0.1, "result.control.mean");
    assertClose(result.control.stddev, 0.30000000000000004, "result.control.stddev");
    assert.equal(result.variants.length, 2);

    const v1 = result.variants[0]!;
    assert.equal(v1.users, 10000);
    assertClose(v1.mean, 0.109, "v1.mean");
    assertClose(v1.stddev, 0.3116392144772541, "v1.stddev");
    assertClose(v1.relative.expected, 0.08999999999999994, "v1.relative.expected");
    assertCloseAll(v1.relative.ci, [0.0014597821167822156, 0.17854021788321767], "v1.relative.ci");
    assertClose(v1.relative.pValue, 0.04634087580267643, "v1.relative.pValue");
    assertClose(v1.relative.stddev, 0.04517167253932491, "v1.relative.stddev");
    assertClose(v1.sequential!.relative.expected, 0.08999999999999994, "v1.sequential!.relative.expected");
    assertCloseAll(
      v1.sequential!.relative.ci,
      [-0.051256976091765355, 0.23125697609176524],
      "v1.sequential!.relative.ci",
    );
    assertClose(v1.sequential!.relative.pValue, 0.8354018446667318, "v1.sequential!.relative.pValue");
    assertClose(v1.sequential!.relative.stddev, 0.04517167253932491, "v1.sequential!.relative.stddev");
    assertClose(v1.bayesian.relative.expected, 0.08999999999999994, "v1.bayesian.relative.expected");
    assertCloseAll(
      v1.bayesian.relative.ci,
      [0.0014651487014861325, 0.1785348512985137],
      "v1.bayesian.relative.ci",
    );
    assertClose(v1.bayesian.relative.chanceToWin, 0.9768363573365102, "v1.bayesian.relative.chanceToWin");
    assertClose(v1.bayesian.relative.risk.control, 0.09039142119299802, "v1.bayesian.relative.risk.control");
    assertClose(
      v1.bayesian.relative.risk.variant,
      0.00039142119299808803,
      "v1.bayesian.relative.risk.variant",
    );
    assert.equal(v1.cuped, null);
    const v2 = result.variants[1]!;
    assert.equal(v2.users, 9800);
    assertClose(v2.mean, 0.09693877551020408, "v2.mean");
    assertClose(v2.stddev, 0.2958743809673057, "v2.stddev");
    assertClose(v2.relative.expected, -0.030612244897959273, "v2.relative.expected");
    assertCloseAll(v2.relative.ci, [-0.11235087754107759, 0.05112638774515904], "v2.relative.ci");
    assertClose(v2.relative.pValue, 0.4629096414456402, "v2.relative.pValue");
    assertClose(v2.relative.stddev, 0.04170160061211506, "v2.relative.stddev");
    assertClose(v2.sequential!.relative.expected, -0.030612244897959273, "v2.sequential!.relative.expected");
    assertCloseAll(
      v2.sequential!.relative.ci,
      [-0.1609709917860191, 0.09974650199010054],
      "v2.sequential!.relative.ci",
    );
    assertClose(v2.sequential!.relative.pValue, 1.0, "v2.sequential!.relative.pValue");
    assertClose(v2.sequential!.relative.stddev, 0.04170160061211506, "v2.sequential!.relative.stddev");
    assertClose(v2.bayesian.relative.expected, -0.030612244897959273, "v2.bayesian.relative.expected");
    assertCloseAll(
      v2.bayesian.relative.ci,
      [-0.11234588019537828, 0.05112139039945972],
      "v2.bayesian.relative.ci",
    );
    assertClose(v2.bayesian.relative.chanceToWin, 0.23145047389621753, "v2.bayesian.relative.chanceToWin");
    assertClose(v2.bayesian.relative.risk.control, 0.005621938929932573, "v2.bayesian.relative.risk.control");
    assertClose(v2.bayesian.relative.risk.variant, 0.03623418382789185, "v2.bayesian.relative.risk.variant");
    assert.equal(v2.cuped, null);
  });

  it("absolute lifts are reported alongside relative ones", () => {
    const [v] = analyzeMetric(conversionControl, [conversionVariant]).variants;
    assertClose(v!.absolute.expected, 0.008999999999999994, "v!.absolute.expected");
    assertCloseAll(v!.absolute.ci, [0.0005212201481319106, 0.017478779851868076], "v!.absolute.ci");
    assertClose(v!.absolute.pValue, 0.03748545724046659, "v!.absolute.pValue");
    assertClose(v!.absolute.stddev, 0.004325725372697624, "v!.absolute.stddev");
    assertClose(v!.bayesian.absolute.expected, 0.008999999999999994, "v!.bayesian.absolute.expected");
    assertCloseAll(
      v!.bayesian.absolute.ci,
      [0.0005217340625015467, 0.01747826593749844],
      "v!.bayesian.absolute.ci",
    );
    assertClose(v!.bayesian.absolute.chanceToWin, 0.9812636295637787, "v!.bayesian.absolute.chanceToWin");
    assertClose(v!.bayesian.absolute.risk.control, 0.009029517556216225, "v!.bayesian.absolute.risk.control");
    assertClose(v!.bayesian.absolute.risk.variant, 2.951755621623179e-5, "v!.bayesian.absolute.risk.variant");
    assert.equal(v!.sequential, null);
  });

  it("CUPED metric: adjusted estimates match gbstats' mean_ra runner and beat the unadjusted test", () => {
    const result = analyzeMetric(cupedControl, [cupedVariant], { weights: [0.5, 0.5] });
    assertClose(result.srm?.pValue ?? NaN, 0.43205838114189277, "srm");
    const v = result.variants[0]!;
    assertClose(v.relative.expected, 0.026704176810608354, "v.relative.expected");
    assertCloseAll(v.relative.ci, [0.0129476076512875, 0.04046074596992921], "v.relative.ci");
    assertClose(v.relative.pValue, 0.0001434308676602214, "v.relative.pValue");
    assertClose(v.relative.stddev, 0.007016687321094194, "v.relative.stddev");
    assertClose(v.bayesian.relative.expected, 0.026704176810608354, "v.bayesian.relative.expected");
    assertCloseAll(
      v.bayesian.relative.ci,
      [0.012951722370484897, 0.04045663125073181],
      "v.bayesian.relative.ci",
    );
    assertClose(v.bayesian.relative.chanceToWin, 0.9999293294910035, "v.bayesian.relative.chanceToWin");
    assertClose(v.bayesian.relative.risk.control, 0.026704293350262365, "v.bayesian.relative.risk.control");
    assertClose(v.bayesian.relative.risk.variant, 1.1653965400836684e-7, "v.bayesian.relative.risk.variant");
    const cuped = v.cuped!;
    assertClose(cuped.theta ?? NaN, 0.9977579950529591, "theta");
    // gbstats' runner reports the adjusted per-arm stddev for regression-adjusted metrics.
    assertClose(cuped.control.stddev, 4.514704302204969, "control adjusted stddev");
    assertClose(cuped.variant.stddev, 4.7163423294856415, "variant adjusted stddev");
    assertClose(cuped.control.mean, 1.0473737290150211, "control adjusted mean");
    assertClose(v.mean, 21.730243902439025, "variant observed mean");
    assertClose(v.variance, 42.64217905224438, "variant observed variance");
    assertClose(cuped.unadjusted.relative.pValue, 0.0005219429252250052, "unadjusted pValue");
    assertCloseAll(cuped.unadjusted.relative.ci, [0.01476288825734258, 0.0530609635270301], "unadjusted ci");
    assert.ok(v.relative.stddev < cuped.unadjusted.relative.stddev);
  });

  it("SRM is flagged on an imbalanced split", () => {
    const control: ProportionStats = { kind: "proportion", n: 5000, sum: 500 };
    const variant: ProportionStats = { kind: "proportion", n: 5400, sum: 560 };
    const result = analyzeMetric(control, [variant], { weights: [0.5, 0.5] });
    assertClose(result.srm?.pValue ?? NaN, 8.769942375590228e-5, "srm");
    assert.equal(result.srm?.flagged, true);
  });

  it("edge cases come back flagged, never NaN", () => {
    const empty: ProportionStats = { kind: "proportion", n: 0, sum: 0 };
    const [v] = analyzeMetric(empty, [conversionVariant]).variants;
    assert.equal(v!.relative.errorCode, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(v!.bayesian.relative.errorCode, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(v!.bayesian.absolute.errorCode, "NO_UNITS_IN_VARIATION");
    const values = [v!.relative, v!.absolute, v!.bayesian.relative, v!.bayesian.absolute].flatMap((r) => [
      r.expected,
      ...r.ci,
    ]);
    assert.ok(values.every((x) => Number.isFinite(x)));
    assert.equal(analyzeMetric(revenueControl, []).variants.length, 0);
  });
});
