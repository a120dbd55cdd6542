// Holdouts from definition to results: a 10 % holdout covering two running experiments, users
// assigned through the experiments' assignment endpoint (held-out users kept out, everyone's holdout
// exposure recorded), purchases through the events API, the log applied to ClickHouse (chdb), and
// GET /v1/holdouts/:key/results comparing held-out users with the measurement group.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { analyzeMetric, holmBonferroni } from "../stats/index.ts";
import { assertClose } from "../stats/testing/assert-close.ts";
import { clickHouseStatistics } from "../experiments/clickhouse-statistics.ts";
import {
  createAndStart,
  openExperimentStack,
  postEvents,
  pumpLogIntoClickHouse,
  purchase,
  T0,
} from "../experiments/testing.ts";
import { assignVariant, createHoldoutAssigner } from "../../serving/assignment/index.ts";
import { ExperimentVariants } from "../../serving/experiments/variants.ts";
import { holdoutsRouter } from "./router.ts";
import { HoldoutResultsSchema } from "./api-schemas.ts";

type Stack = Awaited<ReturnType<typeof openExperimentStack>>;

const HOUR = 3_600_000;
const USERS = 1200;
const holdout = {
  key: "q3-holdout",
  name: "Q3 holdout",
  share: 0.1,
  experiments: ["ship-a", "ship-b"],
  metrics: [
    { key: "purchase-rate", type: "conversion", event_type: "purchase" },
    { key: "revenue", type: "mean", event_type: "purchase" },
  ],
};
const experiment = (key: string) => ({
  key,
  name: key,
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase" }],
});

let stack: Stack;
const groupOf = createHoldoutAssigner({ key: holdout.key, share: holdout.share });
/** Per holdout group: users, and each user's purchase value (0 = none), as sent. */
const sent: Record<"holdout" | "general", number[]> = { holdout: [], general: [] };
const answers: { user: string; experiment: string; body: Record<string, unknown> }[] = [];

before(async () => {
  stack = await openExperimentStack(({ keys, db, clickhouse, now }) => [
    holdoutsRouter({ db: db.db, keys, now, statistics: clickHouseStatistics(async () => clickhouse) }),
  ]);
  const created = await stack.api.call("POST", "/v1/holdouts", { body: holdout });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (const key of ["ship-a", "ship-b", "uncovered"]) await createAndStart(stack.api, experiment(key), key);

  // Every user reaches ship-a, every other one ship-b too; half also reach the uncovered experiment.
  for (let i = 0; i < USERS; i++) {
    const user = `h-user-${i}`;
    for (const key of ["ship-a", ...(i % 2 === 0 ? ["ship-b"] : []), ...(i % 4 === 0 ? ["uncovered"] : [])]) {
      const res = await stack.api.call("GET", `/v1/experiments/${key}/assignment?user_id=${user}`, {
        scope: "read",
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      answers.push({ user, experiment: key, body: res.body });
    }
  }
  // What shipping did: the measurement group buys 1 in 3, the held-out users 1 in 5.
  const purchases: unknown[] = [];
  for (let i = 0; i < USERS; i++) {
    const user = `h-user-${i}`;
    const group = groupOf(user);
    const k = Math.floor(i / 2);
    const buys = group === "general" ? k % 3 === 0 : k % 5 === 0;
    const value = buys ? 10 + (i % 7) : 0;
    if (buys) purchases.push(purchase(user, 1_000_000 + i, value));
    if (group) sent[group].push(value);
  }
  stack.setClock(T0 + 2 * HOUR);
  await postEvents(stack.api, purchases);
  await pumpLogIntoClickHouse(stack.db, stack.clickhouse);
  stack.setClock(T0 + 48 * HOUR);
});
after(async () => {
  await stack?.close();
});

describe("holdouts end to end", () => {
  it("held-out users are never in a covered experiment; everyone else is assigned as usual", async () => {
    let heldOut = 0;
    for (const { user, experiment: key, body } of answers) {
      const covered = key !== "uncovered";
      if (covered && groupOf(user) === "holdout") {
        heldOut += 1;
        assert.equal(body.reason, "held_out", `${user} in ${key}`);
        assert.equal(body.variant, null);
        assert.equal(body.in_experiment, false);
        assert.equal(body.holdout, holdout.key);
        assert.equal(body.exposure, null);
      } else {
        assert.equal(body.reason, "assigned", `${user} in ${key}`);
        assert.equal(body.variant, assignVariant({ ...experiment(key), traffic: 1 }, user)!.variant_key);
      }
    }
    // ship-a for every held-out user, ship-b for those with an even index.
    const expected = [...Array(USERS).keys()]
      .filter((i) => groupOf(`h-user-${i}`) === "holdout")
      .reduce((n, i) => n + (i % 2 === 0 ? 2 : 1), 0);
    assert.equal(heldOut, expected);
    assert.ok(heldOut > 0);
  });

  it("recommendations with ?experiment= resolve a held-out user to no variant (the active ranker)", async () => {
    const variants = new ExperimentVariants({ db: stack.db.db });
    const heldOutUser = [...Array(USERS).keys()]
      .map((i) => `h-user-${i}`)
      .find((u) => groupOf(u) === "holdout")!;
    const measuredUser = [...Array(USERS).keys()]
      .map((i) => `h-user-${i}`)
      .find((u) => groupOf(u) === "general")!;
    assert.deepEqual((await variants.resolve("ship-a", heldOutUser)).arm, {
      key: "ship-a",
      variant: null,
      reason: "held_out",
    });
    const measured = (await variants.resolve("ship-a", measuredUser)).arm;
    assert.equal(
      measured.variant,
      assignVariant({ ...experiment("ship-a"), traffic: 1 }, measuredUser)!.variant_key,
    );
  });

  it("results compare held-out users with the measurement group, as analytics/stats gives them", async () => {
    const res = await stack.api.call("GET", "/v1/holdouts/q3-holdout/results?cumulative=false", {
      scope: "read",
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    HoldoutResultsSchema.parse(res.body);
    assert.equal(res.body.holdout_key, "q3-holdout");
    assert.equal(res.body.control, "holdout");
    assert.deepEqual(res.body.users, { holdout: sent.holdout.length, general: sent.general.length });
    assert.ok(sent.holdout.length > 80 && sent.general.length > 80, JSON.stringify(res.body.users));
    assert.equal(res.body.srm.flagged, false);
    assert.equal(res.body.window.from, new Date(T0).toISOString());

    const buyers = (xs: number[]) => xs.filter((v) => v > 0).length;
    const [h, g] = [sent.holdout, sent.general];
    const rate = analyzeMetric({ kind: "proportion", n: h.length, sum: buyers(h) }, [
      { kind: "proportion", n: g.length, sum: buyers(g) },
    ]).variants[0]!;
    const moments = (xs: number[]) => ({
      kind: "mean" as const,
      n: xs.length,
      sum: xs.reduce((s, v) => s + v, 0),
      sumSquares: xs.reduce((s, v) => s + v * v, 0),
    });
    const revenue = analyzeMetric(moments(h), [moments(g)]).variants[0]!;

    const byKey = (key: string) => res.body.metrics.find((m: { key: string }) => m.key === key);
    const rateResult = byKey("purchase-rate");
    assertClose(rateResult.control.mean, buyers(h) / h.length, "held-out rate");
    assertClose(rateResult.variants[0].mean, buyers(g) / g.length, "measured rate");
    assertClose(rateResult.variants[0].relative.estimate, rate.relative.expected, "cumulative lift");
    assertClose(rateResult.variants[0].relative.p_value, rate.relative.pValue, "p");
    assertClose(rateResult.variants[0].relative.ci[0], rate.relative.ci[0], "ci low");
    assertClose(rateResult.variants[0].bayesian.chance_to_win, rate.bayesian.relative.chanceToWin, "ctw");
    const revenueResult = byKey("revenue");
    assertClose(revenueResult.variants[0].relative.estimate, revenue.relative.expected, "revenue lift");
    assertClose(revenueResult.variants[0].relative.p_value, revenue.relative.pValue, "revenue p");
    // The holdout's metrics are one family, corrected by Holm as an experiment's default.
    const adjusted = holmBonferroni([rate.relative.pValue, revenue.relative.pValue]);
    assertClose(rateResult.variants[0].decision.adjusted_p_value, adjusted[0]!, "adjusted p, rate");
    assertClose(revenueResult.variants[0].decision.adjusted_p_value, adjusted[1]!, "adjusted p, revenue");
    assert.ok(rateResult.variants[0].relative.estimate > 0.3, "shipping lifted purchases by about 5/3");
  });

  it("the definition is versioned: If-Match changes it, a stale version or a new share is refused", async () => {
    const patched = await stack.api.call("PATCH", "/v1/holdouts/q3-holdout", {
      headers: { "if-match": '"1"' },
      body: { experiments: ["ship-a", "ship-b", "ship-c"] },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.version, 2);
    assert.deepEqual(patched.body.definition.experiments, ["ship-a", "ship-b", "ship-c"]);
    const stale = await stack.api.call("PATCH", "/v1/holdouts/q3-holdout", {
      headers: { "if-match": '"1"' },
      body: { name: "late" },
    });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const share = await stack.api.call("PATCH", "/v1/holdouts/q3-holdout", {
      headers: { "if-match": '"2"' },
      body: { share: 0.2 },
    });
    assert.equal(share.status, 400, JSON.stringify(share.body));
    assert.match(share.body.message, /share/);
    const missing = await stack.api.call("GET", "/v1/holdouts/none/results", { scope: "read" });
    assert.equal(missing.status, 404);
    // A window too long for the cumulative series is the caller's error, as for experiments (found by the fuzzer).
    const tooLong = await stack.api.call("GET", "/v1/holdouts/q3-holdout/results?from=2000-01-01T00:00:00Z", {
      scope: "read",
    });
    assert.equal(tooLong.status, 400, JSON.stringify(tooLong.body));
    assert.deepEqual(tooLong.body.errors, [
      {
        field: "from",
        rule: "the cumulative series is limited to 400 days; pass a later from (or cumulative=false)",
        received: "2000-01-01T00:00:00Z",
      },
    ]);
    const bad = await stack.api.call("POST", "/v1/holdouts", {
      body: { ...holdout, key: "other", share: 0.7 },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, "share");
  });

  it("stopping releases the held-out users and freezes the results at the stop time", async () => {
    const stopAt = T0 + 49 * HOUR;
    stack.setClock(stopAt);
    const stopped = await stack.api.call("POST", "/v1/holdouts/q3-holdout/stop", {
      headers: { "if-match": '"2"' },
    });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    assert.equal(stopped.body.status, "stopped");
    assert.equal(stopped.body.stopped_at, new Date(stopAt).toISOString());
    // Past the gate's cache lifetime on the same clock, the stopped holdout keeps no one out.
    stack.setClock(stopAt + 60_000);
    const heldOutUser = [...Array(USERS).keys()]
      .map((i) => `h-user-${i}`)
      .find((u) => groupOf(u) === "holdout")!;
    const res = await stack.api.call("GET", `/v1/experiments/ship-a/assignment?user_id=${heldOutUser}`, {
      scope: "read",
    });
    assert.equal(res.body.reason, "assigned", JSON.stringify(res.body));
    assert.equal(
      res.body.variant,
      assignVariant({ ...experiment("ship-a"), traffic: 1 }, heldOutUser)!.variant_key,
    );
    const results = await stack.api.call("GET", "/v1/holdouts/q3-holdout/results?cumulative=false", {
      scope: "read",
    });
    assert.equal(results.status, 200, JSON.stringify(results.body));
    assert.equal(results.body.status, "stopped");
    assert.equal(results.body.window.to, new Date(stopAt).toISOString());
    assert.deepEqual(results.body.users, { holdout: sent.holdout.length, general: sent.general.length });
  });
});
