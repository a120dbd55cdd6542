import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth, ErrorSchema, json, keyedResponses } from "../../core/http/openapi.ts";
import { MAX_N } from "./params.ts";
import { RULE_PARAM_PATTERNS, type RuleParam } from "./rules-params.ts";
import { IdSchema } from "../../core/contracts/id.ts";

const Item = z
  .object({
    item_id: z.string(),
    score: z.number(),
    source: z.enum(["neighbours", "affinity", "trending", "popular", "catalog", "pinned"]).openapi({
      description: "the candidate source, or pinned (placed by a pin of the request or a stored rule)",
    }),
  })
  .openapi("RecommendedItem");

const modelVersion = z.number().int().nullable();

const ServedItem = Item.extend({
  model_version: modelVersion.openapi({
    description: "The ranker's registry version that ranked this item (null = heuristic ranking)",
  }),
}).openapi("ServedRecommendationItem", {
  description: "An item of a recommendation answer, with the candidate source that proposed it",
});

const SimilarAnswer = z
  .object({
    items: z.array(Item),
    model_version: modelVersion.openapi({ description: "Registry version; null = heuristic ranking" }),
    request_id: z.string(),
  })
  .openapi("SimilarItems");

const Answer = z
  .object({
    items: z.array(ServedItem),
    model_version: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Registry version; null = heuristic ranking" }),
    recommendation_id: z.uuid().openapi({
      description:
        "Unique per answer. Send it back as `recommendation_id` on the events this list leads to (click, purchase) to attribute them explicitly; serving records the list under this id",
    }),
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

/**
 * A repeatable, comma-separated list parameter: each value non-blank, at most 256 characters. The class spells
 * out what JavaScript's trim() removes, so validators in any language agree on "blank".
 */
const listValue = z
  .string()
  .max(256)
  .regex(/[^\s\uFEFF]/);
const many = z.union([listValue, z.array(listValue)]);
/** A rule parameter: repeatable, each value the pattern the server checks (serving/http/rules-params.ts). */
const rules = (param: RuleParam) => {
  const value = z.string().max(256).regex(new RegExp(RULE_PARAM_PATTERNS[param]));
  return z.union([value, z.array(value)]).optional();
};
const count = z.number().int().min(1).max(MAX_N).optional().openapi({ description: "default 10" });
const context = (max: number) => z.string().max(max).optional();

export function registerServingOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const errors = {
    400: json(ErrorSchema, "Malformed parameter: errors name field, rule, received"),
    ...keyedResponses("read"),
  };
  registry.registerPath({
    method: "get",
    path: "/v1/ping",
    summary: "A static answer of the serving app without a key (the benchmarks' baseline)",
    security: [],
    responses: { 200: json(z.object({ ok: z.literal(true) }), "Pong") },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/recommendations/{userId}",
    summary: "Ranked recommendations for a user (unknown users get trending/popular items)",
    security,
    request: {
      params: z.object({ userId: IdSchema }),
      query: z.strictObject({
        n: count,
        category: many.optional().openapi({ description: "repeatable: keep items in any of these" }),
        exclude: many.optional().openapi({ description: "repeatable or comma-separated item ids" }),
        min_position: z
          .string()
          .regex(/^\d{1,20}\.\d{1,15}$/)
          .optional()
          .openapi({ description: "wait (≤ 2 s) until read models passed this write position" }),
        experiment: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/)
          .optional()
          .openapi({
            description:
              "an experiment key: the user is assigned as by /v1/experiments/{key}/assignment, the exposure is recorded, and the variant's serving.ranker ranks",
          }),
        session_id: context(2048),
        device: context(2048),
        platform: context(2048),
        page: context(2048),
        country: z
          .string()
          .regex(/^[A-Z]{2}$/)
          .optional(),
        locale: context(2048),
        pin: rules("pin").openapi({
          description:
            "repeatable or comma-separated ITEM@POSITION: the item at that 1-based position (skipped when unavailable, excluded, consumed or dismissed; beyond n: not shown)",
        }),
        pin_category: rules("pin_category").openapi({
          description:
            "repeatable or comma-separated CATEGORY@POSITION: the category's best eligible item there",
        }),
        boost: rules("boost").openapi({
          description:
            "repeatable or comma-separated ITEM or ITEM^FACTOR (1 < FACTOR ≤ 100, default 2): the item competes as if at position p / FACTOR",
        }),
        boost_category: rules("boost_category").openapi({
          description: "CATEGORY or CATEGORY^FACTOR: every item in the category, as boost",
        }),
        bury: rules("bury").openapi({
          description: "ITEM or ITEM^FACTOR (default 2): the item competes as if at position p × FACTOR",
        }),
        bury_category: rules("bury_category").openapi({
          description: "CATEGORY or CATEGORY^FACTOR: every item in the category, as bury",
        }),
      }),
    },
    responses: {
      200: json(Answer, "Ranked items"),
      ...errors,
      501: json(ErrorSchema, "min_position or experiment without the store it needs in this process"),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/items/{itemId}/similar",
    summary:
      "Items similar to an item (batch model neighbours, else online co-occurrence; filled with trending)",
    security,
    request: {
      params: z.object({ itemId: IdSchema }),
      query: z.strictObject({ n: count, category: many.optional() }),
    },
    responses: {
      200: json(SimilarAnswer, "Similar items"),
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/users/{userId}/features",
    summary:
      "What the ranker sees for a user: counts, affinities, recent items, and the feature rows of the top candidates",
    security,
    request: {
      params: z.object({ userId: IdSchema }),
      query: z.object({
        as_of: z.string().optional().openapi({
          description:
            "ISO-8601 date-time with a zone, not in the future: the user's counts, affinities and recent items as they were then, computed from the log (no ranker rows)",
          format: "date-time",
        }),
      }),
    },
    responses: {
      200: json(z.object({}).catchall(z.unknown()), "Features"),
      ...errors,
      501: json(ErrorSchema, "as_of without the log it needs in this process"),
    },
  });
}
