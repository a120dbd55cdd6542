import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { registerHoldoutsOpenApi } from "./api-schemas.ts";

describe("holdouts OpenAPI", () => {
  it("documents every route with its request and response components", () => {
    const registry = new OpenAPIRegistry();
    registerHoldoutsOpenApi(registry);
    const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: "3.1.0",
      info: { title: "Reckon", version: "test" },
    });
    assert.deepEqual(Object.keys(doc.paths ?? {}).sort(), [
      "/v1/holdouts",
      "/v1/holdouts/{key}",
      "/v1/holdouts/{key}/results",
      "/v1/holdouts/{key}/stop",
    ]);
    const components = Object.keys(doc.components?.schemas ?? {});
    for (const name of ["HoldoutDefinition", "HoldoutPatch", "Holdout", "HoldoutResults"]) {
      assert.ok(components.includes(name), `${name} in ${components.join(", ")}`);
    }
  });
});
