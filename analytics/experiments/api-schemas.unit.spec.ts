import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { registerExperimentsOpenApi } from "./api-schemas.ts";

describe("experiments OpenAPI", () => {
  it("documents every route with its request and response components", () => {
    const registry = new OpenAPIRegistry();
    registerExperimentsOpenApi(registry);
    const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: { title: "Reckon", version: "test" },
    });
    assert.deepEqual(Object.keys(doc.paths ?? {}).sort(), [
      "/v1/experiments",
      "/v1/experiments/{key}",
      "/v1/experiments/{key}/archive",
      "/v1/experiments/{key}/assignment",
      "/v1/experiments/{key}/changes",
      "/v1/experiments/{key}/overlap",
      "/v1/experiments/{key}/power",
      "/v1/experiments/{key}/results",
      "/v1/experiments/{key}/start",
      "/v1/experiments/{key}/stop",
    ]);
    const components = Object.keys(doc.components?.schemas ?? {});
    for (const name of [
      "ExperimentDefinition",
      "ExperimentPatchRequest",
      "Experiment",
      "Assignment",
      "ExperimentResults",
      "SampleRatioMismatch",
      "ExperimentErrorResponse",
      "AnalysisSettings",
      "ExperimentPower",
      "ExperimentOverlap",
      "QuantileMetric",
    ]) {
      assert.ok(components.includes(name), `${name} in ${components.join(", ")}`);
    }
  });
});
