import { z } from "zod";
import type { OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { EventSchema } from "../core/contracts/event.ts";
import { ItemBatchEntrySchema, ItemBodySchema } from "../core/contracts/item.ts";
import { IdSchema } from "../core/contracts/id.ts";
import {
  bearerAuth,
  ErrorSchema,
  FieldErrorSchema,
  json,
  jsonBodyResponses,
  keyedResponses,
} from "../core/http/openapi.ts";

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

const ItemWriteSchema = z
  .object({
    item_id: z.string(),
    status: z.enum(["created", "updated", "unchanged"]),
    item: ItemSchema,
    position: z.string().nullable(),
  })
  .openapi("ItemWrite");

const ItemConflictSchema = z
  .object({
    error: z.literal("conflict"),
    message: z.string(),
    item_id: z.string(),
    status: z.literal("conflict"),
    expected_version: z.number().int(),
    current_version: z.number().int(),
  })
  .openapi("ItemConflict");

const ItemBatchResultSchema = z
  .object({
    position: z.string().nullable(),
    results: z.array(
      z.object({
        index: z.number().int(),
        item_id: z.unknown(),
        status: z.enum(["created", "updated", "unchanged", "conflict", "rejected"]),
        item: ItemSchema.optional(),
        expected_version: z.number().int().optional(),
        current_version: z.number().int().optional(),
        errors: z.array(FieldErrorSchema).optional(),
      }),
    ),
  })
  .openapi("ItemBatchResult");

const ItemIdParam = z.object({ itemId: IdSchema });
const ifMatch = z.object({
  "if-match": z
    .string()
    .regex(/^(W\/)?"?\d{1,15}"?$/)
    .optional()
    .openapi({ description: 'The item version the change is based on, e.g. "3"' }),
});

export function registerIngestOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  registry.registerPath({
    method: "post",
    path: "/v1/events",
    summary: "Record one event or a batch of up to 1000 (each event counts against the key's events quota)",
    security,
    request: {
      query: z.object({ backfill: z.enum(["true", "false", "1", "0"]).optional() }),
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z.union([EventSchema, z.strictObject({ events: z.array(EventSchema).min(1).max(1000) })]),
          },
        },
      },
    },
    responses: {
      200: json(IngestResponseSchema, "Something was recorded"),
      ...jsonBodyResponses,
      400: json(
        z.union([IngestResponseSchema, ErrorSchema]),
        "Nothing was recorded: per-event results, or why the body is not a batch",
      ),
      ...keyedResponses("write"),
    },
  });
  registry.registerPath({
    method: "put",
    path: "/v1/items/{itemId}",
    summary: "Create or update a catalog item (If-Match: version for optimistic concurrency)",
    security,
    request: {
      params: ItemIdParam,
      headers: ifMatch,
      body: { required: true, content: { "application/json": { schema: ItemBodySchema } } },
    },
    responses: {
      200: json(ItemWriteSchema, "Updated or unchanged; ETag is the version"),
      201: json(ItemWriteSchema, "Created; ETag is the version"),
      ...jsonBodyResponses,
      409: json(ItemConflictSchema, "Stale version"),
      ...keyedResponses("write"),
    },
  });
  registry.registerPath({
    method: "put",
    path: "/v1/items",
    summary: "Create or update up to 1000 catalog items; each is judged on its own",
    security,
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            // The entry inline: an allOf over the strict ItemBody plus item_id would admit no value at all.
            schema: z.strictObject({
              items: z
                .array(z.strictObject({ ...ItemBatchEntrySchema.shape }))
                .min(1)
                .max(1000),
            }),
          },
        },
      },
    },
    responses: {
      200: json(ItemBatchResultSchema, "Something was written; per-item results"),
      ...jsonBodyResponses,
      400: json(z.union([ItemBatchResultSchema, ErrorSchema]), "Nothing was written"),
      ...keyedResponses("write"),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/items/{itemId}",
    summary: "Read a catalog item",
    security,
    request: { params: ItemIdParam },
    responses: {
      200: json(ItemSchema, "The item; ETag is the version"),
      400: json(ErrorSchema, "The item id breaks the id rule"),
      404: json(ErrorSchema, "Unknown item"),
      ...keyedResponses("read"),
    },
  });
}
