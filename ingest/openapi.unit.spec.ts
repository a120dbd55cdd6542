import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOpenApiDocument } from "../core/http/openapi.ts";
import { registerIngestOpenApi } from "./openapi.ts";

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
    "timestamp",
    "type",
    "user_id",
    "value",
  ]);
});
