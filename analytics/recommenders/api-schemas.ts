// Request and response shapes of the recommender metrics API: validation, types and the OpenAPI document.
import { extendZodWithOpenApi, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { SlugSchema } from "../../ingest/experiments/index.ts";
import { bearerAuth, ErrorSchema, json, keyedResponses } from "../../core/http/openapi.ts";

extendZodWithOpenApi(z);

export const MAX_RANGE_DAYS = 92;
export const MAX_K = 100;

export const RecommenderMetricsQuerySchema = z.strictObject({
  from: z.iso
    .datetime({ offset: true, message: "must be an ISO-8601 date-time" })
    .optional()
    .openapi({ description: "Lists served from this time (default: 7 days before `to`)" }),
  to: z.iso
    .datetime({ offset: true, message: "must be an ISO-8601 date-time" })
    .optional()
    .openapi({ description: "Lists served before this time (default: now)" }),
  k: z.coerce
    .number()
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(MAX_K, `must be at most ${MAX_K}`)
    .optional()
    .openapi({ description: "CTR@k counts the first k items of each list (default 10)" }),
  window_minutes: z.coerce
    .number()
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(43_200, "must be at most 43200 (30 days)")
    .optional()
    .openapi({
      description:
        "Attribution window for interactions without recommendation_id (default RECKON_ATTRIBUTION_WINDOW_MINUTES)",
    }),
});
export type RecommenderMetricsQuery = z.output<typeof RecommenderMetricsQuerySchema>;

const Estimate = z
  .object({
    value: z.number(),
    ci: z
      .tuple([z.number(), z.number()])
      .openapi({ description: "95 % interval (delta method, users as units)" }),
    numerator: z.number(),
    denominator: z.number(),
  })
  .openapi("RecommenderMetricEstimate");

export const GroupMetricsSchema = z
  .object({
    dimension: z.string().openapi({
      description: "all, model_version, source, or experiment:<key> (groups by variant)",
    }),
    value: z
      .string()
      .openapi({ description: "The group: a model version (or heuristic), a source, a variant" }),
    users: z.number().int(),
    recommendations: z.number().int(),
    impressions: z.number().int().openapi({ description: "Items shown (every rank)" }),
    impressions_at_k: z.number().int(),
    clicks_at_k: z
      .number()
      .int()
      .openapi({ description: "Shown items at rank ≤ k with an attributed click" }),
    conversions: z.number().int(),
    revenue: z.number(),
    attributions: z.object({ explicit: z.number().int(), window: z.number().int() }),
    metrics: z.object({
      ctr_at_k: Estimate,
      conversion_rate: Estimate.openapi({ description: "Attributed conversions per item shown" }),
      revenue_per_impression: Estimate,
    }),
  })
  .openapi("RecommenderGroupMetrics");

const Window = {
  from: z.string(),
  to: z.string(),
  k: z.number().int(),
  window_minutes: z.number().int(),
  click_types: z.array(z.string()),
  conversion_types: z.array(z.string()),
};

export const RecommenderMetricsResponseSchema = z
  .object({ ...Window, groups: z.array(GroupMetricsSchema) })
  .openapi("RecommenderMetrics");

const Comparison = z.object({
  metric: z.enum(["ctr_at_k", "conversion_rate", "revenue_per_impression"]),
  lift: z.number().openapi({ description: "Relative lift over the control" }),
  ci: z.tuple([z.number(), z.number()]),
  p_value: z.number(),
  adjusted_p_value: z.number().openapi({ description: "Holm-corrected over all metrics × variants" }),
  verdict: z.enum(["better", "worse", "inconclusive"]),
  error: z.string().nullable(),
});

export const RecommenderExperimentResponseSchema = z
  .object({
    ...Window,
    experiment: z.string(),
    status: z.string(),
    groups: z.array(GroupMetricsSchema),
    verdict: z.object({
      control: z.string(),
      winner: z.string().nullable().openapi({ description: "The one variant adopted, else null" }),
      variants: z.array(
        z.object({
          variant: z.string(),
          verdict: z.enum(["adopt", "reject", "inconclusive"]).openapi({
            description: "adopt: CTR@k better and no metric worse; reject: a metric worse; else inconclusive",
          }),
          comparisons: z.array(Comparison),
        }),
      ),
    }),
  })
  .openapi("RecommenderExperimentMetrics");

export function registerRecommendersOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const unavailable = json(ErrorSchema, "The analytics store is unavailable, or not opened by this process");
  registry.registerPath({
    method: "get",
    path: "/v1/recommenders/metrics",
    summary:
      "CTR@k, conversion and revenue of served recommendations per model version, candidate source and experiment variant; read scope",
    security,
    request: { query: RecommenderMetricsQuerySchema },
    responses: {
      200: json(RecommenderMetricsResponseSchema, "Metrics per group"),
      400: json(ErrorSchema, "Invalid parameter: errors name field, rule and received"),
      ...keyedResponses("read"),
      503: unavailable,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/recommenders/experiments/{key}/metrics",
    summary:
      "A recommendation experiment's variants on CTR@k, conversion and revenue, against the control, with a verdict; read scope",
    security,
    request: {
      params: z.object({ key: SlugSchema.openapi({ param: { name: "key", in: "path" } }) }),
      query: RecommenderMetricsQuerySchema,
    },
    responses: {
      200: json(RecommenderExperimentResponseSchema, "Metrics per variant and the verdict"),
      400: json(ErrorSchema, "Invalid parameter: errors name field, rule and received"),
      404: json(ErrorSchema, "No experiment with this key"),
      ...keyedResponses("read"),
      503: unavailable,
    },
  });
}
