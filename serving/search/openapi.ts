import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { bearerAuth, ErrorSchema, json, keyedResponses } from "../../core/http/openapi.ts";
import { IdSchema } from "../../core/contracts/id.ts";
import { CURSOR_PATTERN, MAX_Q_CHARS, MAX_SEARCH_N } from "./params.ts";

/** A category filter value: non-blank (what JavaScript's trim() removes, spelled out), at most 128 characters. */
const category = z
  .string()
  .max(128)
  .regex(/[^\s\uFEFF]/);

const Facet = z.object({ value: z.string(), count: z.number().int() }).openapi("FacetCount");

const Hit = z
  .object({
    item_id: z.string(),
    title: z.string(),
    categories: z.array(z.string()),
    attributes: z.record(z.string(), z.unknown()),
    available: z.boolean(),
    score: z
      .number()
      .openapi({ description: "text relevance; with user_id the fused text and ranker score" }),
    source: z.enum(["search", "neighbours", "affinity", "trending", "popular"]).openapi({
      description: "search: placed by the text alone; otherwise the user's strongest signal behind the hit",
    }),
  })
  .openapi("SearchHit");

const SearchAnswer = z
  .object({
    items: z.array(Hit),
    total: z.number().int().openapi({ description: "items matching the words and filters" }),
    facets: z.object({
      categories: z.array(Facet),
      attributes: z.record(z.string(), z.array(Facet)).openapi({
        description:
          "per attribute declared in RECKON_SEARCH_FACETS, its most frequent values among the matches",
      }),
    }),
    next_cursor: z.string().nullable(),
    model_version: z.number().int().nullable(),
    request_id: z.string(),
  })
  .openapi("SearchResults");

const Detail = z
  .object({
    item: z.record(z.string(), z.unknown()),
    categories: z.array(z.string()),
    stats: z
      .object({
        counts: z.record(z.string(), z.number().int()),
        popularity: z.object({ short: z.number(), long: z.number() }),
      })
      .optional(),
    similar: z.array(z.object({ item_id: z.string(), score: z.number(), source: z.string() })).optional(),
    request_id: z.string(),
  })
  .openapi("ItemDetail");

const position = z
  .string()
  .regex(/^\d{1,20}\.\d{1,15}$/)
  .optional()
  .openapi({ description: "wait (bounded) until the catalog read models passed this write position" });

export function registerSearchOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  const errors = {
    400: json(ErrorSchema, "Malformed parameter: errors name field, rule, received"),
    ...keyedResponses("read"),
    501: json(ErrorSchema, "min_position without the projectors' status in this process"),
  };
  registry.registerPath({
    method: "get",
    path: "/v1/search",
    summary:
      "Full-text catalog search (prefix matching, typo tolerance), filters and facet counts; with user_id re-ranked for the user. Filter on any attribute with attr.KEY=VALUE.",
    security,
    request: {
      query: z.object({
        q: z
          .string()
          .max(MAX_Q_CHARS)
          .optional()
          .openapi({ description: "words; each must match (as a prefix, or within 1–2 typos)" }),
        category: z
          .union([category, z.array(category)])
          .optional()
          .openapi({ description: "repeatable: items in any of these" }),
        available: z.enum(["true", "false", "any"]).optional().openapi({ description: "default true" }),
        n: z.number().int().min(1).max(MAX_SEARCH_N).optional().openapi({ description: "default 10" }),
        cursor: z
          .string()
          .max(320)
          .regex(new RegExp(CURSOR_PATTERN))
          .optional()
          .openapi({ description: "next_cursor of the previous page" }),
        user_id: IdSchema.optional().openapi({ description: "re-rank the best 200 text hits for this user" }),
        min_position: position,
      }),
    },
    responses: { 200: json(SearchAnswer, "Hits, total and facets"), ...errors },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/items/{itemId}/detail",
    summary:
      "An item with its live stats (counts by interaction type, decayed popularity), categories and similar items",
    security,
    request: {
      params: z.object({ itemId: IdSchema }),
      query: z.strictObject({
        include: z
          .string()
          .regex(/^(stats|similar)(,(stats|similar))*$/)
          .optional()
          .openapi({ description: "comma-separated: stats, similar (default both)" }),
        similar_n: z.number().int().min(1).max(50).optional().openapi({ description: "default 10" }),
        min_position: position,
      }),
    },
    responses: {
      200: json(Detail, "The item detail"),
      404: json(ErrorSchema, "The item is not in the catalog read model"),
      ...errors,
    },
  });
}
