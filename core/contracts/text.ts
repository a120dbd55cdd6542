import { z } from "zod";
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";

extendZodWithOpenApi(z);

/**
 * Rules every stored text and time obeys, shared by all contracts: what Postgres (text, jsonb, timestamptz)
 * and ClickHouse (DateTime64) can hold, checked up front so a bad value is a 400 naming it, never a 500.
 */

export const TEXT_RULE = "must be well-formed Unicode text without NUL (U+0000) characters";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False when the string holds half of a surrogate pair, which has no UTF-8 form. */
export function isWellFormedUnicode(value: string): boolean {
  return !LONE_SURROGATE.test(value);
}

/** Postgres text and jsonb cannot hold U+0000; a lone surrogate has no UTF-8 form at all. */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && isWellFormedUnicode(value);
}

/**
 * Adds an issue for every key or string value inside `value` (any JSON) that is not storable text,
 * at its path. For `superRefine` on whole contracts, so free-form parts (properties, attributes) are covered.
 */
export function reportUnstorableText(value: unknown, ctx: z.RefinementCtx, path: PropertyKey[] = []): void {
  const pending: Array<{ value: unknown; path: PropertyKey[] }> = [{ value, path }];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (typeof next.value === "string") {
      if (!isStorableText(next.value)) ctx.addIssue({ code: "custom", path: next.path, message: TEXT_RULE });
    } else if (next.value !== null && typeof next.value === "object") {
      for (const [key, child] of Object.entries(next.value)) {
        const childPath = [...next.path, Array.isArray(next.value) ? Number(key) : key];
        if (!isStorableText(key))
          ctx.addIssue({ code: "custom", path: childPath, message: `key ${TEXT_RULE}` });
        else pending.push({ value: child, path: childPath });
      }
    }
  }
}

// Real UTC offsets run from -12:00 to +14:00; Postgres refuses some the ISO syntax allows (e.g. +23:59).
const MAX_OFFSET_MINUTES = 14 * 60;
// ClickHouse's DateTime64 holds 1900-01-01 to 2299-12-31; Postgres holds more.
const EARLIEST_MS = Date.UTC(1900, 0, 1);
const LATEST_MS = Date.UTC(2300, 0, 1) - 1;
export const TIMESTAMP_RULE =
  "must be an ISO-8601 date-time with a timezone offset within ±14:00, between 1900-01-01 and 2299-12-31";

function isStorableTimestamp(value: string): boolean {
  const offset = /([+-])(\d{2}):?(\d{2})$/.exec(value);
  if (offset !== null && Number(offset[2]) * 60 + Number(offset[3]) > MAX_OFFSET_MINUTES) return false;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/** An ISO-8601 date-time with an offset that every store can hold. */
const STORABLE_TIMESTAMP_PATTERN =
  "^(19\\d{2}|2[0-2]\\d{2})-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])T([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(\\.\\d{1,3})?(Z|[+-](0\\d|1[0-3]):[0-5]\\d|[+-]14:00)$";

export const TimestampSchema = z.iso
  .datetime({ offset: true, message: TIMESTAMP_RULE })
  // Only a well-formed date-time is checked further, so a malformed one is reported once.
  .refine(isStorableTimestamp, { message: TIMESTAMP_RULE, when: (payload) => payload.issues.length === 0 })
  // The storable range as a pattern too (years 1900-2299, offsets within ±14:00), so that generators and
  // validators built from the OpenAPI document send what the API accepts.
  .openapi({ format: "date-time", pattern: STORABLE_TIMESTAMP_PATTERN, example: "2024-03-01T12:00:00Z" });
