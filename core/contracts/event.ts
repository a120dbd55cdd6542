import { z } from "zod";
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { toFieldErrors, type FieldError } from "./validation.ts";
import { IdSchema } from "./id.ts";
import { reportUnstorableText, TimestampSchema } from "./text.ts";

extendZodWithOpenApi(z);

/**
 * The interaction event contract, v1. This schema is the single source of validation,
 * of the TypeScript types and of the OpenAPI document.
 */
export const BUILT_IN_EVENT_TYPES = [
  "view",
  "click",
  "add_to_cart",
  "purchase",
  "rating",
  "exposure",
  "not_interested",
] as const;

/** Built-in types that are about an item, so `item_id` is required. */
export const ITEM_INTERACTION_TYPES: ReadonlySet<string> = new Set([
  "view",
  "click",
  "add_to_cart",
  "purchase",
  "rating",
  "not_interested",
]);

/** Negative feedback: the user does not want the item (removed from their lists, its neighbours demoted). */
export const NOT_INTERESTED = "not_interested";

/**
 * Built-in types that are not engagement with an item: an experiment exposure, and negative feedback. Models of
 * what users like (co-occurrence, training, popularity) skip them.
 */
export const NON_ENGAGEMENT_TYPES: ReadonlySet<string> = new Set(["exposure", NOT_INTERESTED]);

export const MAX_PROPERTIES_BYTES = 8 * 1024;
export const MAX_PROPERTIES_DEPTH = 4;

const eventType = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,63}$/,
    "must be a built-in type (view, click, add_to_cart, purchase, rating, exposure, not_interested) or a custom lowercase slug ([a-z][a-z0-9_]*, at most 64 chars)",
  );

const slug = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, "must be a slug: letters, digits, _ . -");

export const ExperimentRefSchema = z.strictObject({ key: slug, variant: slug }).openapi("ExperimentRef");

export const EventContextSchema = z
  .strictObject({
    session_id: z.string().max(128).optional(),
    device: z.string().max(64).optional(),
    platform: z.string().max(64).optional(),
    page: z.string().max(2048).optional(),
    referrer: z.string().max(2048).optional(),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code, e.g. DE")
      .optional(),
    locale: z.string().max(35).optional(),
    app_version: z.string().max(64).optional(),
  })
  .openapi("EventContext");

const properties = z
  // Values come from a parsed JSON body, so any value is JSON already; only size and depth need checking.
  .record(z.string().max(128), z.unknown())
  .refine((p) => Buffer.byteLength(JSON.stringify(p)) <= MAX_PROPERTIES_BYTES, {
    message: `must serialise to at most ${MAX_PROPERTIES_BYTES} bytes of JSON`,
  })
  .refine((p) => depth(p) <= MAX_PROPERTIES_DEPTH, {
    message: `must nest at most ${MAX_PROPERTIES_DEPTH} levels deep`,
  });

export const EventSchema = z
  .strictObject({
    event_id: z.uuid("must be a UUID (client-generated; it is the idempotency key)"),
    type: eventType,
    user_id: IdSchema,
    item_id: IdSchema.optional(),
    timestamp: TimestampSchema,
    value: z.number("must be a finite number").finite("must be a finite number").optional(),
    experiment: ExperimentRefSchema.optional(),
    recommendation_id: z
      .uuid("must be the recommendation_id of a GET /v1/recommendations answer (a UUID)")
      .optional()
      .openapi({
        description:
          "The recommendation this interaction came from (the answer's recommendation_id): attributes the event to that list explicitly. Without it, Reckon attributes by user, item and time window.",
      }),
    context: EventContextSchema.optional(),
    properties: properties.optional(),
  })
  .superRefine((e, ctx) => {
    reportUnstorableText({ context: e.context, properties: e.properties }, ctx);
    if (ITEM_INTERACTION_TYPES.has(e.type) && e.item_id === undefined) {
      ctx.addIssue({ code: "custom", path: ["item_id"], message: `is required for "${e.type}" events` });
    }
    if (e.type === "rating" && e.value === undefined) {
      ctx.addIssue({ code: "custom", path: ["value"], message: 'is required for "rating" events' });
    }
    if (e.type === "exposure" && e.experiment === undefined) {
      ctx.addIssue({ code: "custom", path: ["experiment"], message: 'is required for "exposure" events' });
    }
  })
  .openapi("Event");

export type InteractionEvent = z.infer<typeof EventSchema>;

export interface TimeWindow {
  now: Date;
  /** Oldest accepted event time; undefined means no lower bound (admin backfill). */
  maxAgeMs: number | undefined;
  maxSkewMs: number;
}

export type EventValidation = { ok: true; event: InteractionEvent } | { ok: false; errors: FieldError[] };

/** Validates one event against the contract and the accepted time window. `prefix` names its place in a batch. */
export function validateEvent(input: unknown, window: TimeWindow, prefix = ""): EventValidation {
  const parsed = EventSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: toFieldErrors(parsed.error, input, prefix) };
  const event = parsed.data;
  const at = Date.parse(event.timestamp);
  const field = prefix ? `${prefix}.timestamp` : "timestamp";
  if (at > window.now.getTime() + window.maxSkewMs) {
    return {
      ok: false,
      errors: [
        {
          field,
          rule: `must not be more than ${window.maxSkewMs / 1000}s in the future`,
          received: event.timestamp,
        },
      ],
    };
  }
  if (window.maxAgeMs !== undefined && at < window.now.getTime() - window.maxAgeMs) {
    return {
      ok: false,
      errors: [
        {
          field,
          rule: `must not be more than ${window.maxAgeMs / 3_600_000}h in the past (use an admin key with ?backfill=true for historical imports)`,
          received: event.timestamp,
        },
      ],
    };
  }
  return { ok: true, event };
}

function depth(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((max, child) => Math.max(max, depth(child)), 0);
}
