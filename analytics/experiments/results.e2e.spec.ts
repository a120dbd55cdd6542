// From events to results: experiments defined and started over HTTP, exposures recorded by the
// assignment endpoint or sent by a client, purchases through the events API, the Postgres log applied
// by the analytics projection to ClickHouse (chdb), and GET /results reading it back.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { analyzeMetric } from "../stats/index.ts";
import { assertClose } from "../stats/testing/assert-close.ts";
import { ExperimentResultsSchema } from "./api-schemas.ts";
import { seedExperimentStack, T0, type SeededStack } from "./testing.ts";

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

  it("rejects a breakdown on a dimension not captured with exposures", async () => {
    const res = await stack.api.call("GET", "/v1/experiments/skewed-test/results?breakdown=page", {
      scope: "read",
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, "breakdown");
  });
});
