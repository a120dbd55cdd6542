// buildOverlap on fixed cells: the conversion cells of analytics/stats/interaction.unit.spec.ts
// (numbers printed by Python's statistics.NormalDist there).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExperimentDefinitionSchema } from "../../ingest/experiments/index.ts";
import { assertClose } from "../stats/testing/assert-close.ts";
import { buildOverlap } from "./overlap.ts";

const definition = (key: string, extra: Record<string, unknown>[] = []) =>
  ExperimentDefinitionSchema.parse({
    key,
    name: key,
    variants: [
      { key: "control", weight: 0.5 },
      { key: "treatment", weight: 0.5 },
    ],
    control: "control",
    metrics: [{ key: "buy", type: "conversion", event_type: "purchase" }, ...extra],
  });

const cell = (variantA: string, variantB: string, n: number, buyers: number) => ({
  variantA,
  variantB,
  n,
  sums: { buy: { sum: buyers, sumSquares: buyers } },
});

describe("buildOverlap", () => {
  const a = definition("a", [{ key: "only-a", type: "mean", event_type: "x" }]);
  const b = definition("b");
  const cells = [
    cell("control", "control", 400, 40),
    cell("treatment", "control", 400, 48),
    cell("control", "treatment", 300, 30),
    cell("treatment", "treatment", 300, 54),
  ];
  const result = buildOverlap(
    a,
    [
      { definition: b, cells },
      { definition: definition("c"), cells: [] },
    ],
    new Date(0),
  );

  it("lists only experiments that share users, with the cells", () => {
    assert.deepEqual(
      result.overlaps.map((o) => [o.experiment_key, o.users_in_both]),
      [["b", 1400]],
    );
  });

  it("tests the interaction on the metrics both define", () => {
    const o = result.overlaps[0]!;
    assert.deepEqual(
      o.metrics.map((m) => m.key),
      ["buy"],
    );
    const i = o.metrics[0]!.interactions[0]!;
    assertClose(i.estimate, 0.06, "estimate");
    assertClose(i.stddev, 0.03579106033634656, "se");
    assertClose(i.p_value, 0.09366059931466975, "p");
    assert.equal(i.flagged, false);
    assert.equal(o.warning, null);
  });
});
