import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth } from "../../core/http/openapi.ts";
import { MAX_N } from "./params.ts";

const Item = z
  .object({
    item_id: z.string(),
    score: z.number(),
    source: z.enum(["neighbours", "affinity", "trending", "popular", "catalog"]),
  })
  .openapi("RecommendedItem");

const Answer = z
  .object({
    items: z.array(Item),
    model_version: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Registry version; null = heuristic ranking" }),
    request_id: z.string(),
    experiment: z
      .union([
        z.object({
          key: z.string(),
          variant: z.string(),
          exposure: z.object({
            event_id: z.string(),
            status: z.enum(["accepted", "duplicate", "recorded_earlier"]),
          }),
        }),
        z.object({
          key: z.string(),
          variant: z.null(),
          reason: z.enum(["not_found", "not_running", "not_in_traffic", "held_out"]),
        }),
      ])
      .optional()
      .openapi({
        description:
          "With ?experiment=KEY: the user's variant and the exposure recorded with this answer (accepted: stored now; duplicate: stored before; recorded_earlier: this process stored it before), or why the user is not in it (then the active ranker answers; held_out: a holdout covering the experiment keeps the user out)",
      }),
  })
  .openapi("Recommendations");

const many = z.union([z.string(), z.array(z.string())]);

export function registerServingOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const errors = {
    400: { description: "Malformed parameter: { errors: [{ field, rule, received }] }" },
    401: { description: "No key" },
    403: { description: "Key lacks read scope" },
  };
  registry.registerPath({
    method: "get",
    path: "/v1/recommendations/{userId}",
    summary: "Ranked recommendations for a user (unknown users get trending/popular items)",
    security,
    request: {
      params: z.object({ userId: z.string() }),
      query: z.object({
        n: z.number().int().min(1).max(MAX_N).optional().openapi({ description: "default 10" }),
        category: many.optional().openapi({ description: "repeatable: keep items in any of these" }),
        exclude: many.optional().openapi({ description: "repeatable or comma-separated item ids" }),
        min_position: z
          .string()
          .optional()
          .openapi({ description: "wait (≤ 2 s) until read models passed this write position" }),
        experiment: z.string().optional().openapi({
          description:
            "an experiment key: the user is assigned as by /v1/experiments/{key}/assignment, the exposure is recorded, and the variant's serving.ranker ranks",
        }),
        session_id: z.string().optional(),
        device: z.string().optional(),
        platform: z.string().optional(),
        page: z.string().optional(),
        country: z.string().optional(),
        locale: z.string().optional(),
      }),
    },
    responses: {
      200: { description: "Ranked items", content: { "application/json": { schema: Answer } } },
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/items/{itemId}/similar",
    summary:
      "Items similar to an item (batch model neighbours, else online co-occurrence; filled with trending)",
    security,
    request: {
      params: z.object({ itemId: z.string() }),
      query: z.object({ n: z.number().int().min(1).max(MAX_N).optional(), category: many.optional() }),
    },
    responses: {
      200: { description: "Similar items", content: { "application/json": { schema: Answer } } },
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/users/{userId}/features",
    summary:
      "What the ranker sees for a user: counts, affinities, recent items, and the feature rows of the top candidates",
    security,
    request: { params: z.object({ userId: z.string() }) },
    responses: { 200: { description: "Features" }, ...errors },
  });
}
