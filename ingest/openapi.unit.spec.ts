import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOpenApiDocument } from "../core/http/openapi.ts";
import { registerIngestOpenApi } from "./openapi.ts";
import { registerServingOpenApi } from "../serving/http/openapi.ts";
import { registerExperimentsOpenApi } from "../analytics/experiments/api-schemas.ts";
import { ID_PATTERN } from "../core/contracts/id.ts";

test("the OpenAPI document is generated from the contract's zod schemas", () => {
  const doc = buildOpenApiDocument([registerIngestOpenApi]);
  assert.deepEqual(Object.keys(doc.paths ?? {}).sort(), [
    "/healthz",
    "/readyz",
    "/v1/events",
    "/v1/items",
    "/v1/items/{itemId}",
  ]);
  const event = doc.components?.schemas?.Event as {
    required?: string[];
    properties?: Record<string, unknown>;
  };
  assert.deepEqual(event.required?.sort(), ["event_id", "timestamp", "type", "user_id"]);
  assert.deepEqual(Object.keys(event.properties ?? {}).sort(), [
    "context",
    "event_id",
    "experiment",
    "item_id",
    "properties",
    "recommendation_id",
    "timestamp",
    "type",
    "user_id",
    "value",
  ]);
});

test("every pattern in the OpenAPI document is a plain ECMA-262 regex; ids carry the one id rule (issue 16 item 11)", () => {
  const doc = buildOpenApiDocument([
    registerIngestOpenApi,
    registerServingOpenApi,
    registerExperimentsOpenApi,
  ]);
  const patterns: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "pattern" && typeof value === "string") patterns.push(value);
        else walk(value);
      }
    }
  };
  walk(doc);
  assert.ok(patterns.includes(ID_PATTERN));
  for (const pattern of patterns) {
    assert.doesNotMatch(pattern, /\/[a-z]*$/, `a JavaScript flag leaked into ${pattern}`);
    assert.doesNotThrow(() => new RegExp(pattern), pattern);
    // Unicode property escapes need the u flag, which JSON Schema validators and generators do not set.
    assert.doesNotMatch(pattern, /\\p\{/, pattern);
  }
  const event = doc.components?.schemas?.Event as { properties: Record<string, Record<string, unknown>> };
  for (const field of ["user_id", "item_id"]) {
    assert.deepEqual(
      { pattern: event.properties[field]!.pattern, maxLength: event.properties[field]!.maxLength },
      { pattern: ID_PATTERN, maxLength: 256 },
    );
  }
  const id = new RegExp(ID_PATTERN);
  assert.deepEqual(
    ["u_42", "😀", "a b", "a\tb", "a\u0000", "a\u00a0b", "a\u3000b", ""].map((s) => id.test(s)),
    [true, true, false, false, false, false, false, false],
  );
});
