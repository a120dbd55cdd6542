import { z } from "zod";
import { extendZodWithOpenApi } from "@asteasolutions/zod-to-openapi";
import { isWellFormedUnicode } from "./text.ts";
import type { FieldError } from "./validation.ts";

extendZodWithOpenApi(z);

/**
 * The one rule for user and item ids, on every route that takes one (events, items, features,
 * recommendations, similar items, assignment): 1 to 256 characters (Unicode code points, as JSON Schema's
 * maxLength counts them), no whitespace, no control characters, well-formed Unicode.
 */
export const MAX_ID_CHARS = 256;
export const ID_RULE = `must be 1–${MAX_ID_CHARS} characters without whitespace or control characters`;

// Whitespace (JavaScript's \s) and control characters (Unicode Cc) spelled as ranges, without the `u` flag,
// so the same pattern is valid ECMA-262 and JSON Schema and every client generator can use it.
export const ID_FORBIDDEN_CHARS =
  "\\u0000-\\u0020\\u007F-\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF";
export const ID_PATTERN = `^[^${ID_FORBIDDEN_CHARS}]+$`;
const ID_REGEX = new RegExp(ID_PATTERN);

export function isValidId(value: string): boolean {
  if (!ID_REGEX.test(value) || !isWellFormedUnicode(value)) return false;
  // Code points: at most two UTF-16 units each, so only long strings need counting.
  if (value.length <= MAX_ID_CHARS) return true;
  let chars = 0;
  for (const _ of value) if (++chars > MAX_ID_CHARS) return false;
  return true;
}

/** The id rule for a path or query parameter: a FieldError naming `field`, or undefined when valid. */
export function checkId(field: string, value: string): FieldError | undefined {
  return isValidId(value) ? undefined : { field, rule: ID_RULE, received: value };
}

/** The id rule as a zod schema (body fields and query parameters), documented with the same pattern. */
export const IdSchema = z
  .string(ID_RULE)
  .refine(isValidId, ID_RULE)
  .openapi({ pattern: ID_PATTERN, minLength: 1, maxLength: MAX_ID_CHARS, example: "u_42" });
