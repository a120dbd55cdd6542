import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { EventSchema } from "../core/contracts/event.ts";
import { ItemBodySchema } from "../core/contracts/item.ts";
import { IdSchema } from "../core/contracts/id.ts";
import { bearerAuth } from "../core/http/openapi.ts";

const FieldErrorSchema = z
  .object({ field: z.string(), rule: z.string(), received: z.unknown().optional() })
  .openapi("FieldError");

const EventResultSchema = z
  .object({
    index: z.number().int(),
    event_id: z.unknown(),
    status: z.enum(["accepted", "duplicate", "rejected"]),
    errors: z.array(FieldErrorSchema).optional(),
  })
  .openapi("EventResult");

const IngestResponseSchema = z
  .object({
    accepted: z.number().int(),
    duplicate: z.number().int(),
    rejected: z.number().int(),
    position: z.string().nullable().openapi({ description: "Position token for min_position on reads" }),
    results: z.array(EventResultSchema),
  })
  .openapi("IngestResponse");

const ItemSchema = z
  .object({
    item_id: z.string(),
    version: z.number().int(),
    title: z.string().optional(),
    categories: z.array(z.string()),
    attributes: z.record(z.string(), z.unknown()),
    available: z.boolean(),
    published_at: z.string().optional(),
    updated_at: z.string(),
  })
  .openapi("Item");

export function registerIngestOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  registry.registerPath({
    method: "post",
    path: "/v1/events",
    summary: "Record one event or a batch of up to 1000",
    security,
    request: {
      query: z.object({ backfill: z.enum(["true", "false"]).optional() }),
      body: {
        content: {
          "application/json": {
            schema: z.union([EventSchema, z.object({ events: z.array(EventSchema).max(1000) })]),
          },
        },
      },
    },
    responses: {
      200: {
        description: "Something was recorded",
        content: { "application/json": { schema: IngestResponseSchema } },
      },
      400: {
        description: "Nothing was recorded",
        content: { "application/json": { schema: IngestResponseSchema } },
      },
      401: { description: "Missing or unknown API key" },
      403: { description: "Key lacks the write scope (or admin for backfill)" },
      413: { description: "Body over 1 MiB" },
    },
  });
  registry.registerPath({
    method: "put",
    path: "/v1/items/{itemId}",
    summary: "Create or update a catalog item (If-Match: version for optimistic concurrency)",
    security,
    request: {
      params: z.object({ itemId: IdSchema }),
      body: { content: { "application/json": { schema: ItemBodySchema } } },
    },
    responses: {
      200: { description: "Updated or unchanged" },
      201: { description: "Created" },
      409: { description: "Stale version" },
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/items/{itemId}",
    summary: "Read a catalog item",
    security,
    request: { params: z.object({ itemId: IdSchema }) },
    responses: {
      200: { description: "The item", content: { "application/json": { schema: ItemSchema } } },
      404: { description: "Unknown item" },
    },
  });
}
