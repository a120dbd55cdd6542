// From events to results: experiments defined and started over HTTP, exposures recorded by the
// assignment endpoint or sent by a client, purchases through the events API, the Postgres log applied
// by the analytics projection to ClickHouse (chdb), and GET /results reading it back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { analyzeMetric, normalCdf, normalPpf, studentTPpf, studentTSf } from "../stats/index.ts";
import { assertClose } from "../stats/testing/assert-close.ts";
import { ExperimentResultsSchema, OverlapResponseSchema, PowerResponseSchema } from "./api-schemas.ts";
import { seedExperimentStack, T0, type CupedUsers, type SeededStack } from "./testing.ts";

let stack: SeededStack;
before(async () => {
  stack = await seedExperimentStack();
});
after(async () => {
  await stack?.close();
});

describe("results end to end", () => {
  it("balanced experiment: users and conversions as assigned, no SRM, lifts as analytics/stats gives them", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/balanced-test/results", { scope: "read" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ExperimentResultsSchema.parse(res.body);
    const { users, converted } = stack.balanced;
    assert.deepEqual(res.body.users, users);
    assert.equal(users.control! + users.treatment!, 400);
    assert.equal(res.body.srm.flagged, false);
    assert.ok(res.body.srm.p_value > 0.001);
    assert.equal(res.body.window.from, new Date(T0).toISOString());

    const rate = res.body.metrics.find((m: { key: string }) => m.key === "purchase-rate");
    assert.equal(rate.control.users, users.control);
    assertClose(rate.control.mean, converted.control! / users.control!, "control rate");
    const treatment = rate.variants[0];
    assertClose(treatment.mean, converted.treatment! / users.treatment!, "treatment rate");
    // No purchase before exposure: the CUPED covariate is empty, so the unadjusted proportion test applies.
    const expected = analyzeMetric({ kind: "proportion", n: users.control!, sum: converted.control! }, [
      { kind: "proportion", n: users.treatment!, sum: converted.treatment! },
    ]).variants[0]!;
    assertClose(treatment.relative.estimate, expected.relative.expected, "relative lift");
    assertClose(treatment.relative.p_value, expected.relative.pValue, "p");
    assertClose(treatment.relative.ci[0], expected.relative.ci[0], "ci low");
    assertClose(treatment.bayesian.chance_to_win, expected.bayesian.relative.chanceToWin, "ctw");

    const revenue = res.body.metrics.find((m: { key: string }) => m.key === "revenue");
    assert.equal(revenue.guardrail, true);

    // A running experiment read as of now comes from the per-user totals the projection kept; a closed
    // window from the events, with the same numbers (0/1 conversions sum exactly either way).
    assert.equal(res.body.computed_from, "user_totals");
    const closed = await stack.api.call(
      "GET",
      "/v1/experiments/balanced-test/results?to=2100-01-01T00:00:00.000Z&cumulative=false",
      { scope: "read" },
    );
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    assert.equal(closed.body.computed_from, "events");
    assert.deepEqual(closed.body.users, res.body.users);
    assert.deepEqual(
      closed.body.metrics.find((m: { key: string }) => m.key === "purchase-rate"),
      rate,
    );

    assert.ok(res.body.cumulative.length >= 1);
    const last = res.body.cumulative.at(-1);
    assert.deepEqual(last.users, users);
    assertClose(
      last.metrics["purchase-rate"].treatment.relative,
      expected.relative.expected,
      "cumulative lift",
    );
  });

  it("skewed rollout: 600/400 against 50/50 is flagged as a sample ratio mismatch", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/skewed-test/results?breakdown=country", {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.users, { control: 600, treatment: 400 });
    assert.equal(res.body.srm.flagged, true);
    assert.ok(res.body.srm.p_value < 1e-9);
    assert.match(res.body.srm.message, /sample ratio mismatch/);
    // 1 in 4 users purchased, in both arms.
    const rate = res.body.metrics.find((m: { key: string }) => m.key === "purchase-rate");
    assert.equal(rate.control.mean, 150 / 600);
    assert.equal(rate.variants[0].mean, 100 / 400);

    assert.equal(res.body.breakdown.dimension, "country");
    assert.deepEqual(
      res.body.breakdown.segments.map((s: { value: string; users: number }) => [s.value, s.users]),
      [
        ["DE", 500],
        ["FR", 500],
      ],
    );
  });

  it("CUPED: adjusted relative lift with the exact relative variance, from the per-user values", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/cuped-test/results?cumulative=false", {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    ExperimentResultsSchema.parse(res.body);
    assert.deepEqual(res.body.users, { control: 100, treatment: 100 });
    const revenue = res.body.metrics.find((m: { key: string }) => m.key === "revenue");
    const treatment = revenue.variants[0];

    // Derived here from the per-user spend the fixture sent, following GrowthBook's definitions:
    // pooled θ = Cov(post, pre)/Var(pre), adjusted means ȳ − θx̄, relative lift over the control's
    // observed mean, variance by the delta method over each arm's post and pre means.
    const { control: a, treatment: b } = stack.cuped;
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const cov = (xs: number[], ys: number[]) => {
      const mx = mean(xs);
      const my = mean(ys);
      return xs.reduce((s, x, i) => s + (x - mx) * (ys[i]! - my), 0) / (xs.length - 1);
    };
    const pre = [...a!.pre, ...b!.pre];
    const post = [...a!.post, ...b!.post];
    const theta = cov(post, pre) / cov(pre, pre);
    assertClose(treatment.cuped.theta, theta, "theta");
    const [ya, yb, xa, xb] = [mean(a!.post), mean(b!.post), mean(a!.pre), mean(b!.pre)];
    const lift = (yb - theta * xb - (ya - theta * xa)) / ya;
    const variantTerm =
      (cov(b!.post, b!.post) + theta ** 2 * cov(b!.pre, b!.pre) - 2 * theta * cov(b!.post, b!.pre)) /
      (100 * ya ** 2);
    const controlTerm =
      ((yb ** 2 / ya ** 2) * cov(a!.post, a!.post) +
        theta ** 2 * cov(a!.pre, a!.pre) -
        ((2 * theta * yb) / ya) * cov(a!.post, a!.pre)) /
      (100 * ya ** 2);
    const se = Math.sqrt(variantTerm + controlTerm);
    const adjusted = (p: number[], x: number[]) => cov(p, p) + theta ** 2 * cov(x, x) - 2 * theta * cov(p, x);
    const [va, vb] = [adjusted(a!.post, a!.pre), adjusted(b!.post, b!.pre)];
    const dof = (va / 100 + vb / 100) ** 2 / ((va / 100) ** 2 / 99 + (vb / 100) ** 2 / 99);
    assertClose(treatment.relative.estimate, lift, "relative lift");
    assertClose(treatment.relative.stddev, se, "relative standard error");
    assertClose(treatment.relative.p_value, 2 * studentTSf(Math.abs(lift / se), dof), "p");

    // The experiment's analysis settings (testing.ts cupedAnalysis): alpha 0.1, one-sided tests,
    // a Gaussian prior on the relative effect, and a 5 % non-inferiority margin on this guardrail.
    assert.deepEqual(res.body.analysis, {
      alpha: 0.1,
      sequential_tuning: 5000,
      prior: { enabled: true, mean: 0.01, variance: 0.0025 },
      test: "one_sided",
      correction_scope: "all",
    });
    const half = studentTPpf(0.95, dof) * se;
    assertClose(treatment.relative.ci[0], lift - half, "two-sided 90 % ci low");
    assertClose(treatment.relative.ci[1], lift + half, "two-sided 90 % ci high");
    assert.equal(treatment.decision.test, "one_sided");
    assertClose(treatment.decision.p_value, studentTSf(lift / se, dof), "one-sided p");
    assertClose(treatment.decision.relative_ci[0], lift - studentTPpf(0.9, dof) * se, "one-sided bound");
    assertClose(treatment.non_inferiority.p_value, studentTSf((lift + 0.05) / se, dof), "non-inferiority p");
    assert.equal(treatment.non_inferiority.non_inferior, true);
    // Posterior of a normal likelihood (lift, se²) with the normal prior (0.01, 0.0025).
    const precision = 1 / se ** 2 + 1 / 0.0025;
    const posteriorMean = (lift / se ** 2 + 0.01 / 0.0025) / precision;
    assertClose(treatment.bayesian.expected, posteriorMean, "posterior mean");
    assertClose(treatment.bayesian.chance_to_win, normalCdf(posteriorMean * Math.sqrt(precision)), "ctw");
  });

  it("CUPED for a ratio metric: spend per view adjusted by the pre-period ratio, same from totals and events", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/cuped-test/results?cumulative=false", {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.computed_from, "user_totals");
    const metric = res.body.metrics.find((m: { key: string }) => m.key === "spend-per-view");
    const treatment = metric.variants[0];

    // Per user (m, d, m_pre, d_pre) as the fixture sent them; the delta method as the sample variance of
    // per-user linearised values g·x_i, with g the finite-difference gradient of the estimator.
    const arms = stack.cuped as Record<string, CupedUsers>;
    const rows = (u: CupedUsers) => u.post.map((m, i) => [m, u.postViews[i]!, u.pre[i]!, u.preViews[i]!]);
    const [a, b] = [rows(arms.control!), rows(arms.treatment!)];
    const means = (xs: number[][]) => [0, 1, 2, 3].map((j) => xs.reduce((s, x) => s + x[j]!, 0) / xs.length);
    const variance = (xs: number[]) => {
      const mu = xs.reduce((s, x) => s + x, 0) / xs.length;
      return xs.reduce((s, x) => s + (x - mu) ** 2, 0) / (xs.length - 1);
    };
    const grad = (f: (x: number[]) => number, x: number[]) =>
      x.map((v, i) => {
        const h = 1e-6 * Math.abs(v);
        const at = (d: number) => f(x.map((w, j) => (j === i ? w + d : w)));
        return (at(h) - at(-h)) / (2 * h);
      });
    const linear = (xs: number[][], g: number[]) =>
      variance(xs.map((x) => x.reduce((s, v, j) => s + g[j]! * v, 0)));
    const adjustedVariance = (xs: number[][], t: number) =>
      linear(
        xs,
        grad((x) => x[0]! / x[1]! - t * (x[2]! / x[3]!), means(xs)),
      );
    // θ minimises the arms' summed adjusted variance, a quadratic in θ: fit it through 0, ½, 1.
    const total = (t: number) => adjustedVariance(a, t) + adjustedVariance(b, t);
    const c = 2 * (total(1) - 2 * total(0.5) + total(0));
    const theta = (total(0) - total(1) + c) / 2 / c;
    assertClose(treatment.cuped.theta, theta, "θ", 1e-6);
    const lift = (x: number[]) =>
      (x[4]! / x[5]! - theta * (x[6]! / x[7]!) - (x[0]! / x[1]! - theta * (x[2]! / x[3]!))) / (x[0]! / x[1]!);
    const point = [...means(a), ...means(b)];
    const g = grad(lift, point);
    const se = Math.sqrt(linear(a, g.slice(0, 4)) / a.length + linear(b, g.slice(4)) / b.length);
    assertClose(treatment.relative.estimate, lift(point), "relative lift", 1e-6);
    assertClose(treatment.relative.stddev, se, "relative standard error", 1e-6);
    assert.ok(treatment.relative.stddev < treatment.cuped.unadjusted.relative.stddev, "CUPED narrows it");

    // The same numbers from the events (a closed window after every event).
    const closed = await stack.api.call(
      "GET",
      "/v1/experiments/cuped-test/results?to=2100-01-01T00:00:00.000Z&cumulative=false",
      { scope: "read" },
    );
    assert.equal(closed.body.computed_from, "events");
    const fromEvents = closed.body.metrics.find((m: { key: string }) => m.key === "spend-per-view")
      .variants[0];
    assertClose(fromEvents.relative.estimate, treatment.relative.estimate, "events: lift");
    assertClose(fromEvents.relative.stddev, treatment.relative.stddev, "events: se");
    assertClose(fromEvents.cuped.theta, treatment.cuped.theta, "events: θ");
  });

  it("quantile metric: p90 of per-user spend with its order-statistic interval, from totals and events", async () => {
    const open = await stack.api.call("GET", "/v1/experiments/cuped-test/results?cumulative=false", {
      scope: "read",
    });
    const closed = await stack.api.call(
      "GET",
      "/v1/experiments/cuped-test/results?to=2100-01-01T00:00:00.000Z&cumulative=false",
      { scope: "read" },
    );
    // 100 users per arm, ν = 0.9: the 90th smallest value; the 95 % interval's ranks are
    // 90 ∓ 1.959964·√(100·0.9·0.1) = 90 ∓ 5.88, widened to 84 and 96.
    const z = 1.959963984540054;
    const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
    const [a, b] = [sorted(stack.cuped.control!.post), sorted(stack.cuped.treatment!.post)];
    const qa = a[89]!;
    const qb = b[89]!;
    const va = 99 * ((a[95]! - a[83]!) / (2 * z)) ** 2;
    const vb = 99 * ((b[95]! - b[83]!) / (2 * z)) ** 2;
    for (const res of [open, closed]) {
      assert.equal(res.status, 200, JSON.stringify(res.body));
      ExperimentResultsSchema.parse(res.body);
      const metric = res.body.metrics.find((m: { key: string }) => m.key === "spend-p90");
      assert.equal(metric.type, "quantile");
      assert.equal(metric.control.mean, qa);
      const t = metric.variants[0];
      assert.equal(t.mean, qb);
      assertClose(t.relative.estimate, (qb - qa) / qa, `${res.body.computed_from}: lift`);
      assertClose(
        t.relative.stddev,
        Math.sqrt(vb / (qa ** 2 * 100) + (va * qb ** 2) / (qa ** 4 * 100)),
        `${res.body.computed_from}: se`,
      );
    }
    assert.deepEqual([open.body.computed_from, closed.body.computed_from], ["user_totals", "events"]);
  });

  it("power: MDE and the users a planned lift needs, from the observed rate and traffic", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/balanced-test/power?effect=0.5&power=0.9", {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    PowerResponseSchema.parse(res.body);
    const { users, converted } = stack.balanced;
    const total = users.control! + users.treatment!;
    assert.equal(res.body.users, total);
    assert.equal(res.body.days_observed, 2); // started at T0, read at T0 + 48 h
    assert.equal(res.body.users_per_day, total / 2);
    const v = res.body.metrics.find((m: { key: string }) => m.key === "purchase-rate").variants[0];
    // Derived here: p(1 − p) of the control, z's from the normal quantiles, the quadratic's root.
    const p = converted.control! / users.control!;
    const variance = p * (1 - p);
    const k = normalPpf(0.975) + normalPpf(0.9);
    const c = (k ** 2 * variance) / users.control!;
    const t = (k ** 2 * variance) / users.treatment!;
    const a = p ** 2 - c;
    assertClose(v.baseline_mean, p, "baseline");
    assertClose(v.mde, (c + Math.sqrt(c ** 2 + a * (c + t))) / a, "mde");
    const needed = (k ** 2 * variance * (2 + 2 * 1.5 ** 2)) / (0.25 * p ** 2);
    assertClose(v.users_needed, needed, "users needed");
    assertClose(v.days_needed, Math.max(0, needed - total) / (total / 2), "days needed");

    const bad = await stack.api.call("GET", "/v1/experiments/balanced-test/power?power=2", { scope: "read" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, "power");
  });

  it("overlap: users in two running experiments and the interaction on each shared metric", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/overlap-a/overlap", { scope: "read" });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    OverlapResponseSchema.parse(res.body);
    // Only overlap-b shares users with overlap-a.
    assert.deepEqual(
      res.body.overlaps.map((o: { experiment_key: string }) => o.experiment_key),
      ["overlap-b"],
    );
    const o = res.body.overlaps[0];
    assert.equal(o.users_in_both, 400);
    assert.deepEqual(
      o.cells.map((c: { variant: string; other_variant: string; users: number }) => [
        c.variant,
        c.other_variant,
        c.users,
      ]),
      [
        ["control", "control", 100],
        ["control", "treatment", 100],
        ["treatment", "control", 100],
        ["treatment", "treatment", 100],
      ],
    );
    // Derived here from the fixture's users: conversion rates per cell, p(1 − p), diff-in-diff, z-test.
    const cell = (a: string, b: string) => stack.overlap.filter((u) => u.variantA === a && u.variantB === b);
    const rate = (a: string, b: string) =>
      cell(a, b).filter((u) => u.purchase > 0).length / cell(a, b).length;
    const pairs = [
      ["control", "control"],
      ["treatment", "control"],
      ["control", "treatment"],
      ["treatment", "treatment"],
    ] as const;
    const [r00, r10, r01, r11] = pairs.map(([a, b]) => rate(a, b)) as [number, number, number, number];
    assert.deepEqual([r00, r10, r01, r11], [0.1, 0.2, 0.1, 0.5]);
    const estimate = r11 - r01 - (r10 - r00);
    const se = Math.sqrt(
      pairs.map(([a, b]) => (rate(a, b) * (1 - rate(a, b))) / 100).reduce((x, y) => x + y, 0),
    );
    const conv = o.metrics.find((m: { key: string }) => m.key === "purchase-rate").interactions[0];
    assert.deepEqual([conv.variant, conv.other_variant], ["treatment", "treatment"]);
    assertClose(conv.estimate, estimate, "interaction");
    assertClose(conv.stddev, se, "se");
    assertClose(conv.p_value, 2 * normalCdf(-Math.abs(estimate / se)), "p");
    assert.equal(conv.flagged, true);
    assert.match(o.warning, /interaction with overlap-b on purchase-rate/);
    // Revenue (a mean) is shared too: its interaction comes from the per-user spend.
    const mean = (a: string, b: string) => cell(a, b).reduce((s, u) => s + u.purchase, 0) / 100;
    const revenue = o.metrics.find((m: { key: string }) => m.key === "revenue").interactions[0];
    assertClose(
      revenue.estimate,
      mean("treatment", "treatment") -
        mean("control", "treatment") -
        (mean("treatment", "control") - mean("control", "control")),
      "revenue interaction",
    );

    const none = await stack.api.call("GET", "/v1/experiments/balanced-test/overlap", { scope: "read" });
    assert.deepEqual(none.body.overlaps, []);
  });

  it("rejects a breakdown on a dimension not captured with exposures", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/skewed-test/results?breakdown=page", {
      scope: "read",
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, "breakdown");
  });

  it("answers a window too long for the cumulative series with a 400 naming from (issue 16 item 12)", async () => {
    const res = await stack.api.call(
      "GET",
      "/v1/experiments/balanced-test/results?from=2000-01-01T00:00:00Z",
      {
        scope: "read",
      },
    );
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.deepEqual(res.body.errors, [
      {
        field: "from",
        rule: "the cumulative series is limited to 400 days; pass a later from (or cumulative=false)",
        received: "2000-01-01T00:00:00Z",
      },
    ]);
    const flat = await stack.api.call(
      "GET",
      "/v1/experiments/balanced-test/results?from=2000-01-01T00:00:00Z&cumulative=false",
      { scope: "read" },
    );
    assert.equal(flat.status, 200, JSON.stringify(flat.body));
  });
});
