import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { ExperimentError, parseOrThrow } from "./errors.ts";
import {
  analysisSettingsOf,
  ExperimentDefinitionSchema,
  ExperimentPatchSchema,
} from "./definition-schema.ts";

const base = {
  key: "search-ranker",
  name: "Search ranker",
  variants: [
    { key: "bm25", weight: 0.5 },
    { key: "onnx", weight: 0.5 },
  ],
  control: "bm25",
};

function issuesOf(input: unknown) {
  try {
    parseOrThrow(ExperimentDefinitionSchema, input);
  } catch (e) {
    assert.ok(e instanceof ExperimentError);
    return e.issues.map((i) => ({ field: i.field, rule: i.rule, received: i.received }));
  }
  assert.fail("expected a validation error");
}

describe("experiment definition schema", () => {
  it("parses all three metric types", () => {
    const parsed = parseOrThrow(ExperimentDefinitionSchema, {
      ...base,
      metrics: [
        { key: "ctr", type: "conversion", event_type: "click", window_hours: 24 },
        {
          key: "watch-time",
          type: "mean",
          event_type: "watch",
          capping: { type: "absolute", value: 3600 },
          guardrail: true,
          direction: "increase",
        },
        {
          key: "revenue-per-session",
          type: "ratio",
          numerator: { event_type: "purchase", value: "sum" },
          denominator: { event_type: "session_start", value: "count" },
          direction: "increase",
        },
      ],
      sequential: true,
      correction: "bh",
      breakdown_dimensions: ["country", "device.os"],
    });
    assert.deepEqual(
      parsed.metrics.map((m) => [m.key, m.type, m.guardrail, m.direction]),
      [
        ["ctr", "conversion", false, "increase"],
        ["watch-time", "mean", true, "increase"],
        ["revenue-per-session", "ratio", false, "increase"],
      ],
    );
    assert.equal(parsed.traffic, 1);
  });

  it("refuses capping on a conversion metric, naming the field", () => {
    assert.deepEqual(
      issuesOf({
        ...base,
        metrics: [
          { key: "ctr", type: "conversion", event_type: "click", capping: { type: "absolute", value: 1 } },
        ],
      }),
      [{ field: "metrics[0].capping", rule: "unrecognized_keys", received: ["capping"] }],
    );
  });

  it("reports an unknown metric type with the type received", () => {
    assert.deepEqual(issuesOf({ ...base, metrics: [{ key: "m", type: "median", event_type: "x" }] }), [
      { field: "metrics[0].type", rule: "invalid_union", received: "median" },
    ]);
  });

  it("needs a percentile cap strictly between 0 and 1", () => {
    assert.deepEqual(
      issuesOf({
        ...base,
        metrics: [{ key: "m", type: "mean", event_type: "x", capping: { type: "percentile", value: 99 } }],
      }),
      [{ field: "metrics[0].capping.value", rule: "too_big", received: 99 }],
    );
  });

  it("needs both terms of a ratio metric", () => {
    assert.deepEqual(
      issuesOf({
        ...base,
        metrics: [{ key: "r", type: "ratio", numerator: { event_type: "a", value: "sum" } }],
      }),
      [{ field: "metrics[0].denominator", rule: "invalid_type", received: undefined }],
    );
  });

  it("fills every analysis setting with its default", () => {
    const parsed = parseOrThrow(ExperimentDefinitionSchema, {
      ...base,
      metrics: [{ key: "ctr", type: "conversion", event_type: "click" }],
      analysis: { alpha: 0.1, prior: { enabled: true } },
    });
    assert.deepEqual(parsed.analysis, {
      alpha: 0.1,
      sequential_tuning: 5000,
      prior: { enabled: true, mean: 0, variance: 0.09 },
      test: "two_sided",
      correction_scope: "all",
    });
    const plain = parseOrThrow(ExperimentDefinitionSchema, {
      ...base,
      metrics: [{ key: "ctr", type: "conversion", event_type: "click" }],
    });
    assert.deepEqual(plain.analysis, analysisSettingsOf({}));
    assert.equal(plain.analysis.alpha, 0.05);
  });

  it("names the analysis field, rule and value it refuses", () => {
    const metrics = [{ key: "ctr", type: "conversion", event_type: "click" }];
    assert.deepEqual(issuesOf({ ...base, metrics, analysis: { alpha: 0 } }), [
      { field: "analysis.alpha", rule: "too_small", received: 0 },
    ]);
    assert.deepEqual(issuesOf({ ...base, metrics, analysis: { sequential_tuning: 2.5 } }), [
      { field: "analysis.sequential_tuning", rule: "invalid_type", received: 2.5 },
    ]);
    assert.deepEqual(issuesOf({ ...base, metrics, analysis: { prior: { variance: -1 } } }), [
      { field: "analysis.prior.variance", rule: "too_small", received: -1 },
    ]);
    assert.deepEqual(issuesOf({ ...base, metrics, analysis: { correction_scope: "family" } }), [
      { field: "analysis.correction_scope", rule: "invalid_value", received: "family" },
    ]);
    assert.deepEqual(issuesOf({ ...base, metrics, sequential: true, analysis: { test: "one_sided" } }), [
      { field: "analysis.test", rule: "one_sided_not_sequential", received: "one_sided" },
    ]);
  });

  it("takes a non-inferiority margin on guardrail metrics only", () => {
    const parsed = parseOrThrow(ExperimentDefinitionSchema, {
      ...base,
      metrics: [
        { key: "ctr", type: "conversion", event_type: "click" },
        { key: "lat", type: "mean", event_type: "load", guardrail: true, non_inferiority_margin: 0.02 },
      ],
    });
    assert.equal(parsed.metrics[1]!.non_inferiority_margin, 0.02);
    assert.deepEqual(
      issuesOf({
        ...base,
        metrics: [{ key: "ctr", type: "conversion", event_type: "click", non_inferiority_margin: 0.02 }],
      }),
      [{ field: "metrics[0].non_inferiority_margin", rule: "margin_on_guardrail_only", received: 0.02 }],
    );
  });

  it("patch parsing adds no defaults the caller did not send", () => {
    assert.deepEqual(parseOrThrow(ExperimentPatchSchema, { name: "x" }), { name: "x" });
    assert.deepEqual(parseOrThrow(ExperimentPatchSchema, { analysis: { alpha: 0.1 } }), {
      analysis: { alpha: 0.1 },
    });
  });

  it("feeds an OpenAPI 3.1 document through zod-to-openapi", () => {
    const registry = new OpenAPIRegistry();
    registry.register("ExperimentDefinition", ExperimentDefinitionSchema);
    registry.register("ExperimentPatch", ExperimentPatchSchema);
    const { components } = new OpenApiGeneratorV31(registry.definitions).generateComponents();
    const schemas = components?.schemas ?? {};
    const def = schemas["ExperimentDefinition"] as {
      required?: string[];
      properties?: Record<string, unknown>;
    };
    assert.deepEqual(def.required, ["key", "name", "variants", "control", "metrics"]);
    assert.deepEqual(def.properties?.["traffic"], {
      type: "number",
      minimum: 0,
      maximum: 1,
      default: 1,
      description: "Share of all users that enter the experiment, 0..1",
    });
    for (const name of [
      "ExperimentVariant",
      "ExperimentMetric",
      "ConversionMetric",
      "RatioMetric",
      "MetricCapping",
      "AnalysisSettings",
      "BayesianPrior",
    ]) {
      assert.ok(name in schemas, `component ${name} missing; got ${Object.keys(schemas).join(", ")}`);
    }
  });
});
