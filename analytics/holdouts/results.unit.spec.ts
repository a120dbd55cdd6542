import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ExistingHoldout } from "../../ingest/holdouts/index.ts";
import { buildHoldoutResults, holdoutAsDefinition } from "./results.ts";

const holdout: ExistingHoldout = {
  status: "running",
  version: 3,
  definition: {
    key: "q3-holdout",
    name: "Q3 holdout",
    share: 0.05,
    experiments: ["ship-a"],
    metrics: [
      {
        key: "purchase-rate",
        type: "conversion",
        event_type: "purchase",
        guardrail: false,
        direction: "increase",
      },
    ],
  },
  created_at: "2026-03-01T00:00:00.000Z",
  created_by: "k1",
  updated_at: "2026-03-02T00:00:00.000Z",
  updated_by: "k1",
  stopped_at: null,
};

describe("holdout results", () => {
  it("analyses the holdout as a two-arm experiment: held-out control, measurement group at the same share", () => {
    const definition = holdoutAsDefinition(holdout);
    assert.equal(definition.key, "q3-holdout");
    assert.equal(definition.control, "holdout");
    assert.equal(definition.traffic, 0.1);
    assert.deepEqual(
      definition.variants.map((v) => [v.key, v.weight]),
      [
        ["holdout", 0.5],
        ["general", 0.5],
      ],
    );
    assert.equal(definition.correction, "holm");
    assert.equal(definition.sequential, false);
  });

  it("reports the cumulative lift of the measurement group over the held-out users", () => {
    const results = buildHoldoutResults(
      holdout,
      {
        users: { holdout: 100, general: 100 },
        metrics: {
          "purchase-rate": {
            holdout: { kind: "proportion", n: 100, sum: 20 },
            general: { kind: "proportion", n: 100, sum: 30 },
          },
        },
      },
      {
        computedAt: new Date("2026-03-03T00:00:00.000Z"),
        window: { from: holdout.created_at, to: "2026-03-03T00:00:00.000Z" },
      },
    );
    assert.equal(results.holdout_key, "q3-holdout");
    assert.equal(results.version, 3);
    assert.equal(results.share, 0.05);
    assert.deepEqual(results.experiments, ["ship-a"]);
    assert.deepEqual(results.groups, { held_out: "holdout", measured: "general" });
    assert.deepEqual(results.users, { holdout: 100, general: 100 });
    assert.equal(results.srm.chi_square, 0);
    const [metric] = results.metrics;
    assert.equal(metric!.control.mean, 0.2);
    assert.equal(metric!.variants[0]!.mean, 0.3);
    // (0.3 − 0.2) / 0.2, up to floating point.
    assert.ok(
      Math.abs(metric!.variants[0]!.relative.estimate - 0.5) < 1e-12,
      String(metric!.variants[0]!.relative.estimate),
    );
    // One metric, one comparison: the family has a single member, so Holm leaves p as it is.
    assert.equal(metric!.variants[0]!.decision.adjusted_p_value, metric!.variants[0]!.decision.p_value);
    assert.equal("experiment_key" in results, false);
  });
});
