// HTTP shapes of the holdouts API; the definition itself is ingest/holdouts/definition-schema.ts.
import { extendZodWithOpenApi, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { bearerAuth, jsonBodyResponses, keyedResponses } from "../../core/http/openapi.ts";
import { HoldoutDefinitionSchema, HoldoutPatchSchema } from "../../ingest/holdouts/index.ts";
import { SlugSchema } from "../../ingest/experiments/index.ts";
import { ErrorResponseSchema, ExperimentResultsSchema } from "../experiments/api-schemas.ts";

extendZodWithOpenApi(z);

export const HoldoutResultsQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cumulative: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .openapi({ description: "false skips the cumulative-lift series" }),
});

export const HoldoutResultsSchema = ExperimentResultsSchema.omit({
  experiment_key: true,
  status: true,
  breakdown: true,
  sequential: true,
})
  .extend({
    holdout_key: z.string(),
    status: z.enum(["running", "stopped"]),
    share: z.number(),
    experiments: z.array(z.string()),
    groups: z.object({ held_out: z.literal("holdout"), measured: z.literal("general") }).openapi({
      description:
        "The arm names: the held-out users are the control (`control` = holdout), the measurement group the variant, so a lift is the cumulative effect of the covered experiments",
    }),
  })
  .openapi("HoldoutResults");

export type HoldoutResults = z.output<typeof HoldoutResultsSchema>;

const HoldoutResourceSchema = z
  .object({
    key: z.string(),
    status: z.enum(["running", "stopped"]).openapi({
      description:
        "running: held-out users are kept out of the covered experiments; stopped: released, results frozen",
    }),
    version: z
      .number()
      .int()
      .openapi({ description: "Raised by every accepted change; send it back as If-Match" }),
    definition: HoldoutDefinitionSchema,
    created_at: z.string(),
    created_by: z.string(),
    updated_at: z.string(),
    updated_by: z.string(),
    stopped_at: z.string().nullable(),
  })
  .openapi("Holdout");

export function registerHoldoutsOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const KeyParam = z.object({ key: SlugSchema.openapi({ param: { name: "key", in: "path" } }) });
  // Optional in the document, as for experiments: the server answers 428 when it is missing.
  const ifMatch = z.object({
    "if-match": z
      .string()
      .regex(/^(W\/)?"?\d{1,15}"?$/)
      .optional()
      .openapi({ description: 'The version, e.g. "3"' }),
  });
  const read = keyedResponses("read");
  const admin = { ...jsonBodyResponses, ...keyedResponses("admin") };
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { "application/json": { schema } },
  });
  const errors = {
    400: json(ErrorResponseSchema, "Invalid request: errors name field, rule, expected and received"),
    404: json(ErrorResponseSchema, "No holdout with this key"),
    409: json(ErrorResponseSchema, "Stale version (conflict) or a key already used"),
  };
  registry.registerPath({
    method: "post",
    path: "/v1/holdouts",
    summary:
      "Create a holdout; admin scope. It applies at once: its held-out users never enter the experiments it covers",
    security,
    request: {
      body: { required: true, content: { "application/json": { schema: HoldoutDefinitionSchema } } },
    },
    responses: {
      201: json(HoldoutResourceSchema, "Created; ETag is the version"),
      ...admin,
      409: errors[409],
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/holdouts",
    summary: "List holdouts, newest first; read scope",
    security,
    responses: {
      200: json(z.object({ holdouts: z.array(HoldoutResourceSchema) }), "Holdouts"),
      ...read,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/holdouts/{key}",
    summary: "Read one holdout; read scope. ETag is the version",
    security,
    request: { params: KeyParam },
    responses: {
      200: json(HoldoutResourceSchema, "The holdout"),
      400: errors[400],
      404: errors[404],
      ...read,
    },
  });
  registry.registerPath({
    method: "patch",
    path: "/v1/holdouts/{key}",
    summary:
      "Change a holdout's name, description, covered experiments or metrics; admin scope; needs If-Match",
    security,
    request: {
      params: KeyParam,
      headers: ifMatch,
      body: { required: true, content: { "application/json": { schema: HoldoutPatchSchema } } },
    },
    responses: {
      200: json(HoldoutResourceSchema, "Changed"),
      ...admin,
      ...errors,
      428: json(ErrorResponseSchema, "No If-Match sent"),
    },
  });
  registry.registerPath({
    method: "post",
    path: "/v1/holdouts/{key}/stop",
    summary:
      "Stop a holdout; admin scope; needs If-Match. Its users enter the covered experiments again and its results are frozen at the stop time",
    security,
    request: {
      params: KeyParam,
      headers: ifMatch,
    },
    responses: {
      200: json(HoldoutResourceSchema, "Stopped"),
      ...keyedResponses("admin"),
      ...errors,
      428: json(ErrorResponseSchema, "No If-Match sent"),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/holdouts/{key}/results",
    summary:
      "Held-out users against the measurement group on the holdout's metrics (the cumulative lift of the covered experiments); read scope",
    security,
    request: { params: KeyParam, query: HoldoutResultsQuerySchema },
    responses: {
      200: json(HoldoutResultsSchema, "Results since the holdout was created (or ?from)"),
      400: errors[400],
      404: errors[404],
      ...read,
    },
  });
}
