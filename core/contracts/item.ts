import { z } from "zod";
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";

import { IdSchema } from "./id.ts";
import { reportUnstorableText, TimestampSchema } from "./text.ts";

extendZodWithOpenApi(z);

const itemFields = {
  title: z.string().max(1024).optional(),
  categories: z.array(z.string().min(1).max(128)).max(64, "at most 64 categories").default([]),
  attributes: z
    .record(z.string().max(128), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]))
    .refine((a) => Object.keys(a).length <= 128, { message: "at most 128 attributes" })
    .default({}),
  available: z.boolean().default(true),
  published_at: TimestampSchema.optional(),
  /** Optimistic concurrency: the version the client last read. Omit to write unconditionally. */
  expected_version: z.number().int().min(0).optional(),
};

function checkItemText(
  item: { title?: string; categories: string[]; attributes: object },
  ctx: z.RefinementCtx,
) {
  reportUnstorableText({ title: item.title, categories: item.categories, attributes: item.attributes }, ctx);
}

/** A catalog entry as clients write it (`PUT /v1/items/:id`). Versioned by the server. */
export const ItemBodySchema = z.strictObject(itemFields).superRefine(checkItemText).openapi("ItemBody");

export const ItemBatchEntrySchema = z
  .strictObject({ item_id: IdSchema, ...itemFields })
  .superRefine(checkItemText);

export const ItemBatchSchema = z
  .strictObject({ items: z.array(z.unknown()).min(1).max(1000, "at most 1000 items per request") })
  .openapi("ItemBatch");

export type ItemBody = z.infer<typeof ItemBodySchema>;

/** What the catalog stores and what `item_changed` events carry. */
export interface CatalogItem {
  item_id: string;
  version: number;
  title?: string;
  categories: string[];
  attributes: Record<string, string | number | boolean | null>;
  available: boolean;
  published_at?: string;
  updated_at: string;
}
