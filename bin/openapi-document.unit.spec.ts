import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOpenApiDocument } from "../core/http/openapi.ts";
import { registerIngestOpenApi } from "../ingest/openapi.ts";
import { registerServingOpenApi } from "../serving/http/openapi.ts";
import { registerExperimentsOpenApi } from "../analytics/experiments/api-schemas.ts";
import { registerStatusOpenApi } from "../projectors/status/openapi.ts";
import { registerHoldoutsOpenApi } from "../analytics/holdouts/api-schemas.ts";
import { registerAuditOpenApi } from "../core/audit/audit-router.ts";
import { registerErasureOpenApi } from "../projectors/erasure/erasure-router.ts";

/** The document `reckon start` serves at /openapi.json lists what every operation can answer. */
const doc = buildOpenApiDocument([
  registerIngestOpenApi,
  registerStatusOpenApi,
  registerServingOpenApi,
  registerExperimentsOpenApi,
  registerHoldoutsOpenApi,
  registerAuditOpenApi,
  registerErasureOpenApi,
]);

interface Operation {
  security?: unknown[];
  requestBody?: { required?: boolean };
  responses: Record<string, { headers?: Record<string, { required?: boolean }> }>;
}
const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Operation>).map(([method, op]) => ({
    name: `${method.toUpperCase()} ${path}`,
    op,
  })),
);

test("every operation needing a key documents 401, 403, 429 (with Retry-After and RateLimit headers) and 503", () => {
  const keyed = operations.filter(({ op }) => op.security === undefined || op.security.length > 0);
  // Including the experiments power and overlap reads, the six holdout routes, GET /v1/audit and the two erasures.
  assert.equal(keyed.length, 29);
  for (const { name, op } of keyed) {
    for (const status of ["401", "403", "429", "503"]) assert.ok(op.responses[status], `${name} ${status}`);
    const headers = op.responses["429"]!.headers ?? {};
    assert.deepEqual(Object.keys(headers).sort(), [
      "RateLimit-Limit",
      "RateLimit-Policy",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "Retry-After",
    ]);
    assert.equal(headers["Retry-After"]!.required, false, "absent when waiting cannot help");
  }
  const open = operations.filter(({ op }) => op.security?.length === 0).map(({ name }) => name);
  assert.deepEqual(open.sort(), ["GET /healthz", "GET /readyz", "GET /v1/ping"]);
});

test("every operation with a required JSON body documents 400, 413 and 415", () => {
  const withBody = operations.filter(({ op }) => op.requestBody?.required).map(({ name }) => name);
  assert.deepEqual(withBody.sort(), [
    "PATCH /v1/experiments/{key}",
    "PATCH /v1/holdouts/{key}",
    "POST /v1/erasures",
    "POST /v1/events",
    "POST /v1/experiments",
    "POST /v1/holdouts",
    "PUT /v1/items",
    "PUT /v1/items/{itemId}",
  ]);
  for (const { name, op } of operations.filter(({ op }) => op.requestBody))
    for (const status of ["400", "413", "415"]) assert.ok(op.responses[status], `${name} ${status}`);
});

test("integers carry the safe-integer bounds zod enforces", () => {
  const unbounded: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (typeof node !== "object" || node === null) return;
    const schema = node as Record<string, unknown>;
    if (schema.type === "integer" && (schema.maximum === undefined || schema.minimum === undefined))
      unbounded.push(at);
    for (const [key, value] of Object.entries(schema)) walk(value, `${at}/${key}`);
  };
  walk(doc, "");
  assert.deepEqual(unbounded, []);
  const n = (doc.paths?.["/v1/recommendations/{userId}"]?.get?.parameters ?? []).find(
    (p) => "name" in p && p.name === "n",
  ) as { schema: { minimum: number; maximum: number } };
  assert.deepEqual([n.schema.minimum, n.schema.maximum], [1, 200], "an explicit bound is kept");
});
