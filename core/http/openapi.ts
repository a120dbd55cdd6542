import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

/** Each role contributes its paths from the same zod schemas that validate its requests. */
export type OpenApiRegistrar = (registry: OpenAPIRegistry) => void;

export function buildOpenApiDocument(registrars: readonly OpenApiRegistrar[]) {
  const registry = new OpenAPIRegistry();
  registerPlatformOpenApi(registry);
  for (const register of registrars) register(registry);
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "Reckon API",
      version: "1",
      description:
        "Real-time recommendations and experiment analytics. Authorization: Bearer <API key>. Every key has " +
        "per-second request quotas by scope (and an events quota on POST /v1/events); over a quota, or after " +
        "too many wrong keys from one address, the answer is 429 with Retry-After and RateLimit-* headers.",
    },
    security: [{ bearer: [] }],
  });
  boundIntegers(document);
  return document;
}

/**
 * zod's `.int()` accepts only safe integers (|n| ≤ 2^53 − 1) but the generator writes no bound, so a client
 * or a fuzzer would take 10^35 for valid: every integer schema without a bound gets the safe one.
 */
function boundIntegers(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) boundIntegers(item);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const schema = node as Record<string, unknown>;
  if (schema.type === "integer" || (Array.isArray(schema.type) && schema.type.includes("integer"))) {
    schema.minimum ??= Number.MIN_SAFE_INTEGER;
    schema.maximum ??= Number.MAX_SAFE_INTEGER;
  }
  for (const value of Object.values(schema)) boundIntegers(value);
}

/** The bearer scheme every path uses; registering it twice is harmless, so each registrar may call this. */
export function bearerAuth(registry: OpenAPIRegistry) {
  return registry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
}

export const FieldErrorSchema = z
  .object({ field: z.string(), rule: z.string(), received: z.unknown().optional() })
  .openapi("FieldError");

/** Every error answer: a machine-readable code and a sentence; some carry field errors or more. */
export const ErrorSchema = z
  .object({ error: z.string(), message: z.string(), errors: z.array(FieldErrorSchema).optional() })
  .openapi("Error");

const AuthErrorSchema = z
  .object({
    error: z.enum(["unauthorized", "forbidden"]),
    message: z.string(),
    required_scope: z.enum(["read", "write", "admin"]),
  })
  .openapi("AuthError");

const RateLimitedSchema = z
  .object({
    error: z.literal("rate_limited"),
    message: z.string(),
    quota: z.enum(["read_requests", "write_requests", "admin_requests", "events", "auth_failures"]),
    limit: z.number().int(),
    window_seconds: z.number(),
    retry_after_seconds: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "null when waiting cannot help (a batch larger than the whole quota)" }),
  })
  .openapi("RateLimited");

const integerHeader = (description: string, required = true) => ({
  description,
  required,
  schema: { type: "integer" as const, minimum: 0 },
});

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** 429, with the headers that say when to come back. */
const rateLimited = {
  ...json(RateLimitedSchema, "Over the key's quota, or too many wrong keys from this address"),
  headers: {
    "Retry-After": integerHeader("Seconds until the request would fit (absent when it never can)", false),
    "RateLimit-Limit": integerHeader("Units the quota allows per window"),
    "RateLimit-Remaining": integerHeader("Units left now"),
    "RateLimit-Reset": integerHeader("Seconds until the quota is full again"),
    "RateLimit-Policy": {
      description: 'The quota, e.g. "1000;w=1"',
      required: true,
      schema: { type: "string" as const },
    },
  },
};

/** What any operation needing a key with `scope` may answer besides its own responses. */
export function keyedResponses(scope: "read" | "write" | "admin") {
  return {
    401: json(AuthErrorSchema, "No API key, or an unknown one"),
    403: json(AuthErrorSchema, `The key lacks the ${scope} scope`),
    429: rateLimited,
    503: json(ErrorSchema, "A store this operation needs is unavailable; retry later"),
  };
}

/** What an operation taking a JSON body may answer before its handler runs. */
export const jsonBodyResponses = {
  400: json(
    ErrorSchema,
    "The body is not valid JSON, or fails validation: errors name field, rule, received",
  ),
  413: json(ErrorSchema, "The body is larger than the limit (1 MiB)"),
  415: json(ErrorSchema, "The body is not application/json"),
};

/** Health, readiness and the document itself: served by every process, without a key. */
function registerPlatformOpenApi(registry: OpenAPIRegistry): void {
  const ReadinessSchema = z
    .object({
      status: z.enum(["ready", "not ready"]),
      checks: z.array(z.object({ name: z.string(), ok: z.boolean(), error: z.string().optional() })),
    })
    .openapi("Readiness");
  registry.registerPath({
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process answers",
    security: [],
    responses: { 200: json(z.object({ status: z.literal("ok") }), "Alive") },
  });
  registry.registerPath({
    method: "get",
    path: "/readyz",
    summary: "Readiness: every store this process uses answers",
    security: [],
    responses: {
      200: json(ReadinessSchema, "Ready"),
      503: json(ReadinessSchema, "A store does not answer; checks say which"),
    },
  });
}
