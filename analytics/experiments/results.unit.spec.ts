// buildResults on fixed sufficient statistics. Every expected number was printed by
// reference/results_reference.py with gbstats 0.8.0 and statsmodels (not by this code).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExperimentDefinitionSchema } from "../../ingest/experiments/index.ts";
import type { ArmStats } from "../stats/index.ts";
import { assertClose, assertCloseAll } from "../stats/testing/assert-close.ts";
import { buildResults, type ExperimentStatistics } from "./results.ts";
import type { ExperimentResults, LiftTest, VariantResult } from "./api-schemas.ts";

const context = {
  version: 2,
  status: "running" as const,
  computedAt: new Date("2026-01-10T12:00:00Z"),
  window: { from: null, to: "2026-01-10T12:00:00.000Z" },
};

function checkLift(actual: LiftTest, expected: { estimate: number; ci: number[]; p: number }, label: string) {
  assertClose(actual.estimate, expected.estimate, `${label}.estimate`);
  assertCloseAll(actual.ci, expected.ci, `${label}.ci`);
  assertClose(actual.p_value, expected.p, `${label}.p`);
  assert.equal(actual.error, null, `${label}.error`);
}

function variantOf(results: ExperimentResults, metric: string, variant: string): VariantResult {
  const m = results.metrics.find((x) => x.key === metric);
  const v = m?.variants.find((x) => x.variant === variant);
  assert.ok(v, `${metric}/${variant} missing`);
  return v;
}

describe("buildResults: three arms, fixed horizon, Holm across non-guardrail metrics", () => {
  const definition = ExperimentDefinitionSchema.parse({
    key: "three-arms",
    name: "Three arms",
    // The control is listed last on purpose: results must still put it first.
    variants: [
      { key: "b", weight: 0.25 },
      { key: "c", weight: 0.25 },
      { key: "control", weight: 0.5 },
    ],
    control: "control",
    correction: "holm",
    metrics: [
      { key: "conv", type: "conversion", event_type: "purchase" },
      { key: "rev", type: "mean", event_type: "purchase" },
      { key: "lat", type: "mean", event_type: "page_load", guardrail: true, direction: "decrease" },
    ],
  });
  const mean = (n: number, sum: number, sumSquares: number): ArmStats => ({
    kind: "mean",
    n,
    sum,
    sumSquares,
  });
  const statistics: ExperimentStatistics = {
    users: { control: 1000, b: 520, c: 480 },
    metrics: {
      conv: {
        control: { kind: "proportion", n: 1000, sum: 100 },
        b: { kind: "proportion", n: 520, sum: 70 },
        c: { kind: "proportion", n: 480, sum: 50 },
      },
      rev: { control: mean(1000, 5000, 90000), b: mean(520, 2800, 52000), c: mean(480, 2300, 41000) },
      lat: {
        control: mean(1000, 200000, 42000000),
        b: mean(520, 109000, 23400000),
        c: mean(480, 96500, 19700000),
      },
    },
  };
  const results = buildResults(definition, statistics, context);

  it("orders arms control first and reports users and the plan", () => {
    assert.deepEqual(results.users, { control: 1000, b: 520, c: 480 });
    assert.equal(results.control, "control");
    assert.equal(results.correction, "holm");
    assert.equal(results.sequential, false);
    assert.deepEqual(
      results.metrics.map((m) => [m.key, m.guardrail, m.control.variant, m.variants.map((v) => v.variant)]),
      [
        ["conv", false, "control", ["b", "c"]],
        ["rev", false, "control", ["b", "c"]],
        ["lat", true, "control", ["b", "c"]],
      ],
    );
  });

  it("SRM against the configured weights is not flagged for 1000/520/480 at 50/25/25", () => {
    assertClose(results.srm.p_value, 0.4493289641172217, "srm p");
    assert.equal(results.srm.flagged, false);
    assert.equal(results.srm.message, null);
    assert.deepEqual(
      results.srm.arms.map((a) => [a.variant, a.users, a.expected_share, a.observed_share]),
      [
        ["control", 1000, 0.5, 0.5],
        ["b", 520, 0.25, 0.26],
        ["c", 480, 0.25, 0.24],
      ],
    );
  });

  it("conversion: rates, Welch absolute and relative lifts, Bayesian chance to win and risk", () => {
    const conv = results.metrics[0]!;
    assert.deepEqual([conv.control.variant, conv.control.users, conv.control.mean], ["control", 1000, 0.1]);
    assertClose(conv.control.variance, 0.09, "control p(1-p)");
    assertClose(conv.control.stddev, 0.3, "control stddev");
    const b = variantOf(results, "conv", "b");
    assert.equal(b.users, 520);
    assertClose(b.mean, 70 / 520, "b mean");
    checkLift(
      b.absolute,
      {
        estimate: 0.0346153846153846,
        ci: [-0.00016150016381359655, 0.0693922693945828],
        p: 0.05107125631549114,
      },
      "conv/b abs",
    );
    checkLift(
      b.relative,
      {
        estimate: 0.34615384615384603,
        ci: [-0.039972339506320675, 0.7322800318140128],
        p: 0.07884665231654053,
      },
      "conv/b rel",
    );
    assertClose(b.bayesian.chance_to_win, 0.9607391676826335, "conv/b ctw");
    assertClose(b.bayesian.risk.control, 0.3492633008987726, "conv/b risk control");
    assertClose(b.bayesian.risk.variant, 0.003109454744926589, "conv/b risk variant");
    const c = variantOf(results, "conv", "c");
    checkLift(
      c.relative,
      {
        estimate: 0.04166666666666666,
        ci: [-0.29372579561688783, 0.3770591289502211],
        p: 0.8074327082330295,
      },
      "conv/c rel",
    );
    assertClose(c.bayesian.chance_to_win, 0.5963105425617921, "conv/c ctw");
  });

  it("mean metric lifts", () => {
    checkLift(
      variantOf(results, "rev", "b").relative,
      {
        estimate: 0.07692307692307701,
        ci: [-0.10389656717178872, 0.2577427210179427],
        p: 0.40403094759146096,
      },
      "rev/b rel",
    );
    checkLift(
      variantOf(results, "rev", "c").absolute,
      { estimate: -0.20833333333333304, ci: [-1.0759304201594753, 0.6592637534928091], p: 0.637581177437911 },
      "rev/c abs",
    );
  });

  it("Holm over the four non-guardrail comparisons; guardrails keep raw p-values", () => {
    const adjusted = ["conv/b", "conv/c", "rev/b", "rev/c"].map((k) => {
      const [m, v] = k.split("/") as [string, string];
      return variantOf(results, m, v).decision.adjusted_p_value;
    });
    assertCloseAll(adjusted, [0.31538660926616213, 1.0, 1.0, 1.0], "holm");
    const latB = variantOf(results, "lat", "b");
    assertClose(latB.decision.adjusted_p_value, 3.3531952139398413e-6, "lat/b not adjusted");
    assert.equal(latB.decision.method, "fixed_horizon");
    assert.equal(variantOf(results, "conv", "b").decision.verdict, "inconclusive");
  });

  it("a guardrail where lower is better: a significant increase is 'worse', chance to win flips", () => {
    const latB = variantOf(results, "lat", "b");
    checkLift(
      latB.relative,
      {
        estimate: 0.048076923076923066,
        ci: [0.02786984742127027, 0.06828399873257586],
        p: 3.3531952139398413e-6,
      },
      "lat/b rel",
    );
    assert.equal(latB.decision.significant, true);
    assert.equal(latB.decision.verdict, "worse");
    assertClose(latB.bayesian.chance_to_win, 1.5256687834197535e-6, "lat/b ctw");
    assertClose(latB.bayesian.risk.variant, 0.04807692618879291, "lat/b risk variant");
    assertClose(variantOf(results, "lat", "c").bayesian.chance_to_win, 0.28392510343822475, "lat/c ctw");
  });

  it("no breakdown and no cumulative series unless the statistics carry them", () => {
    assert.equal(results.breakdown, null);
    assert.deepEqual(results.cumulative, []);
  });
});

describe("buildResults: sequential, Benjamini-Hochberg, CUPED and ratio metrics, SRM flagged", () => {
  const definition = ExperimentDefinitionSchema.parse({
    key: "seq-cuped",
    name: "Sequential with CUPED",
    variants: [
      { key: "control", weight: 0.5 },
      { key: "b", weight: 0.5 },
    ],
    control: "control",
    sequential: true,
    correction: "bh",
    metrics: [
      { key: "spend", type: "mean", event_type: "purchase" },
      {
        key: "clicks-per-view",
        type: "ratio",
        numerator: { event_type: "click", value: "count" },
        denominator: { event_type: "view", value: "count" },
      },
    ],
  });
  const population = {
    users: { control: 3000, b: 3300 },
    metrics: {
      spend: {
        control: {
          kind: "cuped",
          n: 3000,
          post: { kind: "mean", sum: 30000, sumSquares: 360000 },
          pre: { kind: "mean", sum: 27000, sumSquares: 280000 },
          crossSum: 300000,
        },
        b: {
          kind: "cuped",
          n: 3300,
          post: { kind: "mean", sum: 34320, sumSquares: 415000 },
          pre: { kind: "mean", sum: 29700, sumSquares: 308000 },
          crossSum: 337000,
        },
      },
      "clicks-per-view": {
        control: {
          kind: "ratio",
          n: 3000,
          numerator: { kind: "mean", sum: 6000, sumSquares: 20000 },
          denominator: { kind: "mean", sum: 15000, sumSquares: 90000 },
          crossSum: 38000,
        },
        b: {
          kind: "ratio",
          n: 3300,
          numerator: { kind: "mean", sum: 6900, sumSquares: 23500 },
          denominator: { kind: "mean", sum: 16500, sumSquares: 99000 },
          crossSum: 43500,
        },
      },
    },
  } satisfies ExperimentStatistics;
  const results = buildResults(
    definition,
    {
      ...population,
      breakdown: {
        dimension: "country",
        segments: [
          { value: "DE", ...population },
          { value: "FR", users: { control: 10 }, metrics: {} },
        ],
      },
      cumulative: [{ date: "2026-01-09", ...population }],
    },
    context,
  );

  it("uses the experiment's sequential tuning τ (1000 here)", () => {
    const tuned = buildResults(
      ExperimentDefinitionSchema.parse({ ...definition, analysis: { sequential_tuning: 1000 } }),
      population,
      context,
    );
    assert.equal(tuned.analysis.sequential_tuning, 1000);
    const spend = variantOf(tuned, "spend", "b");
    checkLift(
      spend.sequential!.relative,
      {
        estimate: 0.040000000000000036,
        ci: [0.01174407448751398, 0.06825592551248609],
        p: 0.00034317326260675514,
      },
      "spend τ=1000",
    );
    assertCloseAll(spend.decision.relative_ci, [0.01174407448751398, 0.06825592551248609], "decision ci");
    checkLift(
      variantOf(tuned, "clicks-per-view", "b").sequential!.relative,
      {
        estimate: 0.04545454545454533,
        ci: [-0.002079641009020937, 0.0929887319181116],
        p: 0.07645269983624288,
      },
      "ratio τ=1000",
    );
  });

  it("flags a 3000/3300 split at 50/50 as a sample ratio mismatch", () => {
    assertClose(results.srm.p_value, 0.00015705228423075143, "srm p");
    assert.equal(results.srm.flagged, true);
    assert.match(results.srm.message ?? "", /sample ratio mismatch.*3000 \/ 3300/);
  });

  it("CUPED: pooled theta, adjusted lifts narrower than the unadjusted ones", () => {
    const b = variantOf(results, "spend", "b");
    assert.ok(b.cuped);
    assertClose(b.cuped.theta!, 0.748005148005148, "theta");
    checkLift(
      b.absolute,
      {
        estimate: 0.40000000000000036,
        ci: [0.22973964055819127, 0.5702603594418094],
        p: 4.196084044005843e-6,
      },
      "spend abs",
    );
    checkLift(
      b.relative,
      {
        estimate: 0.040000000000000036,
        ci: [0.022589356382388147, 0.057410643617611924],
        p: 6.797087734655705e-6,
      },
      "spend rel",
    );
    checkLift(
      b.cuped.unadjusted.relative,
      {
        estimate: 0.040000000000000036,
        ci: [0.01804120143833726, 0.06195879856166281],
        p: 0.0003583950526255819,
      },
      "spend unadjusted",
    );
    assert.ok(
      b.relative.ci[1] - b.relative.ci[0] <
        b.cuped.unadjusted.relative.ci[1] - b.cuped.unadjusted.relative.ci[0],
    );
    assertClose(b.bayesian.chance_to_win, 0.9999966623080161, "spend ctw");
  });

  it("sequential: always-valid interval decides, BH adjusts its p-values", () => {
    const spend = variantOf(results, "spend", "b");
    assert.ok(spend.sequential);
    checkLift(
      spend.sequential.relative,
      {
        estimate: 0.040000000000000036,
        ci: [0.013019937227798754, 0.06698006277220131],
        p: 0.0003284683500997063,
      },
      "spend seq",
    );
    assert.equal(spend.decision.method, "sequential");
    assertCloseAll(spend.decision.relative_ci, [0.013019937227798754, 0.06698006277220131], "decision ci");
    const ratio = variantOf(results, "clicks-per-view", "b");
    checkLift(
      ratio.relative,
      {
        estimate: 0.04545454545454533,
        ci: [0.016165098812736773, 0.07474399209635389],
        p: 0.0023577293313483683,
      },
      "ratio rel",
    );
    checkLift(
      ratio.sequential!.relative,
      {
        estimate: 0.04545454545454533,
        ci: [6.670869634664567e-5, 0.09084238221274402],
        p: 0.04938682836555198,
      },
      "ratio seq",
    );
    assertClose(spend.decision.adjusted_p_value, 0.0006569367001994126, "bh spend");
    assertClose(ratio.decision.adjusted_p_value, 0.04938682836555198, "bh ratio");
    assert.equal(spend.decision.verdict, "better");
    assert.equal(ratio.decision.verdict, "better");
    assertClose(results.metrics[1]!.control.mean, 0.4, "ratio control mean");
  });

  it("breakdown segments are analysed on their own; an empty arm reports an error code, not NaN", () => {
    assert.ok(results.breakdown);
    assert.equal(results.breakdown.dimension, "country");
    const [de, fr] = results.breakdown.segments;
    assert.equal(de!.users, 6300);
    assertClose(de!.srm.p_value, 0.00015705228423075143, "DE srm");
    assertClose(de!.metrics[0]!.variants[0]!.relative.p_value, 6.797087734655705e-6, "DE spend p");
    assert.equal(fr!.users, 10);
    const frSpend = fr!.metrics[0]!.variants[0]!;
    assert.equal(frSpend.users, 0);
    assert.equal(frSpend.relative.error, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(frSpend.bayesian.error, "ZERO_NEGATIVE_BASELINE_VARIATION");
    assert.equal(frSpend.decision.verdict, "inconclusive");
  });

  it("cumulative points carry the decision lift and interval per metric and variant", () => {
    assert.deepEqual(
      results.cumulative.map((p) => [p.date, p.users]),
      [["2026-01-09", { control: 3000, b: 3300 }]],
    );
    const point = results.cumulative[0]!.metrics.spend!.b!;
    assertClose(point.relative, 0.040000000000000036, "cum lift");
    assertCloseAll(point.ci, [0.013019937227798754, 0.06698006277220131], "cum ci");
    assert.equal(point.error, null);
  });
});

describe("buildResults: analysis settings (alpha, one-sided, prior, correction scope, non-inferiority)", () => {
  // Fixture 1's statistics again; the expected numbers are results_reference.py's "fixture3".
  const mean = (n: number, sum: number, sumSquares: number): ArmStats => ({
    kind: "mean",
    n,
    sum,
    sumSquares,
  });
  const statistics: ExperimentStatistics = {
    users: { control: 1000, b: 520, c: 480 },
    metrics: {
      conv: {
        control: { kind: "proportion", n: 1000, sum: 100 },
        b: { kind: "proportion", n: 520, sum: 70 },
        c: { kind: "proportion", n: 480, sum: 50 },
      },
      rev: { control: mean(1000, 5000, 90000), b: mean(520, 2800, 52000), c: mean(480, 2300, 41000) },
      lat: {
        control: mean(1000, 200000, 42000000),
        b: mean(520, 109000, 23400000),
        c: mean(480, 96500, 19700000),
      },
    },
  };
  const definitionWith = (analysis: Record<string, unknown>, margin?: number) =>
    ExperimentDefinitionSchema.parse({
      key: "three-arms",
      name: "Three arms",
      variants: [
        { key: "b", weight: 0.25 },
        { key: "c", weight: 0.25 },
        { key: "control", weight: 0.5 },
      ],
      control: "control",
      correction: "holm",
      metrics: [
        { key: "conv", type: "conversion", event_type: "purchase" },
        { key: "rev", type: "mean", event_type: "purchase" },
        {
          key: "lat",
          type: "mean",
          event_type: "page_load",
          guardrail: true,
          direction: "decrease",
          ...(margin === undefined ? {} : { non_inferiority_margin: margin }),
        },
      ],
      analysis,
    });
  const results = buildResults(
    definitionWith(
      {
        alpha: 0.1,
        test: "one_sided",
        prior: { enabled: true, mean: 0.01, variance: 0.0025 },
        correction_scope: "metric",
      },
      0.05,
    ),
    statistics,
    context,
  );

  it("reports the settings it used", () => {
    assert.equal(results.alpha, 0.1);
    assert.deepEqual(results.analysis, {
      alpha: 0.1,
      sequential_tuning: 5000,
      prior: { enabled: true, mean: 0.01, variance: 0.0025 },
      test: "one_sided",
      correction_scope: "metric",
    });
  });

  it("one-sided decisions towards each metric's good direction, Holm within each metric", () => {
    const expected: Record<string, { bound: number; p: number; adjusted: number }> = {
      "conv/b": { bound: 0.09382712310512392, p: 0.03942332615827027, adjusted: 0.07884665231654053 },
      "conv/c": { bound: -0.17750490116746348, p: 0.40371635411651474, adjusted: 0.40371635411651474 },
      "rev/b": { bound: -0.041244215783167115, p: 0.20201547379573048, adjusted: 0.40403094759146096 },
      "rev/c": { bound: -0.15350934998601895, p: 0.6835375210080487, adjusted: 0.6835375210080487 },
    };
    for (const [key, e] of Object.entries(expected)) {
      const [metric, variant] = key.split("/") as [string, string];
      const d = variantOf(results, metric, variant).decision;
      assert.equal(d.test, "one_sided");
      assertClose(d.relative_ci[0], e.bound, `${key} lower bound`);
      assertClose(d.p_value, e.p, `${key} p`);
      assertClose(d.adjusted_p_value, e.adjusted, `${key} adjusted p`);
    }
    // conv/b: adjusted 0.0788 < alpha 0.1.
    assert.equal(variantOf(results, "conv", "b").decision.verdict, "better");
    assert.equal(variantOf(results, "rev", "b").decision.verdict, "inconclusive");
    // lat is lower-is-better: the one-sided bound is the upper end.
    const lat = variantOf(results, "lat", "b").decision;
    assertClose(lat.relative_ci[1], 0.06128426409121429, "lat/b upper bound");
    assertClose(lat.p_value, 0.999998323402393, "lat/b p");
    assertClose(lat.adjusted_p_value, 0.999998323402393, "guardrail keeps its raw p");
  });

  it("the Bayesian results use the prior at the experiment's alpha", () => {
    const b = variantOf(results, "conv", "b").bayesian;
    assertClose(b.chance_to_win, 0.734721503974375, "ctw");
    assertClose(b.expected, 0.03039180495347488, "expected");
    assertCloseAll(b.ci, [-0.04931734528068664, 0.11010095518763637], "ci");
    assertClose(b.risk.control, 0.03821065103245355, "risk control");
    assertClose(b.risk.variant, 0.007818846078978672, "risk variant");
    const lat = variantOf(results, "lat", "c").bayesian;
    assertClose(lat.chance_to_win, 0.2749756629043614, "lat/c ctw");
    assertCloseAll(lat.ci, [-0.00939175115237028, 0.020116849739328], "lat/c ci");
  });

  it("non-inferiority of the guardrail against a 5 % margin", () => {
    const b = variantOf(results, "lat", "b").non_inferiority!;
    assertClose(b.bound, 0.06128426409121429, "lat/b bound");
    assertClose(b.p_value!, 0.4259644919530889, "lat/b p");
    assert.equal(b.non_inferior, false);
    const c = variantOf(results, "lat", "c").non_inferiority!;
    assertClose(c.p_value!, 5.007785674098718e-7, "lat/c p");
    assert.equal(c.non_inferior, true);
    assert.equal(variantOf(results, "conv", "b").non_inferiority, null);
  });

  it("Holm per variant: {conv/b, rev/b} and {conv/c, rev/c}", () => {
    const perVariant = buildResults(definitionWith({ correction_scope: "variant" }), statistics, context);
    assertClose(variantOf(perVariant, "conv", "b").decision.adjusted_p_value, 0.15769330463308107, "conv/b");
    assertClose(variantOf(perVariant, "rev", "b").decision.adjusted_p_value, 0.40403094759146096, "rev/b");
    assert.equal(variantOf(perVariant, "conv", "c").decision.adjusted_p_value, 1);
    assert.equal(variantOf(perVariant, "rev", "c").decision.adjusted_p_value, 1);
    assert.equal(variantOf(perVariant, "conv", "b").non_inferiority, null);
  });
});
