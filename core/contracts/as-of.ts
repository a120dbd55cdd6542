import type { FieldError } from "./validation.ts";

export const AS_OF_RULE =
  "must be an ISO-8601 date-time with a time zone (e.g. 2026-01-31T12:00:00Z), not in the future";

/**
 * Parses the `as_of` query parameter of temporal reads: absent → undefined; otherwise a Date, or a field error
 * naming the rule and what was received (a list, a date without time or zone, an unparseable or future time).
 */
export function parseAsOf(
  value: unknown,
  now: Date,
): { ok: true; asOf: Date | undefined } | { ok: false; error: FieldError } {
  if (value === undefined) return { ok: true, asOf: undefined };
  const fail = (rule: string) => ({ ok: false as const, error: { field: "as_of", rule, received: value } });
  if (typeof value !== "string") return fail(`${AS_OF_RULE}; give it once`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value))
    return fail(AS_OF_RULE);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return fail(AS_OF_RULE);
  if (ms > now.getTime()) return fail(`${AS_OF_RULE} (now is ${now.toISOString()})`);
  return { ok: true, asOf: new Date(ms) };
}
