import type { z } from "zod";

/** One problem with one field: what a client needs to fix it. */
export interface FieldError {
  /** Dotted path of the offending field, e.g. `events.3.timestamp` or `experiment.key`. */
  field: string;
  /** The rule that was broken, in words. */
  rule: string;
  /** What was received (truncated when large); absent when the field was missing. */
  received?: unknown;
}

const MAX_RECEIVED_CHARS = 200;

/** Turns zod issues into FieldErrors; `prefix` is prepended to each path (e.g. the batch index). */
export function toFieldErrors(error: z.ZodError, input: unknown, prefix = ""): FieldError[] {
  return error.issues.flatMap((issue) => {
    // "unrecognized_keys" names the unknown keys itself: report one error per key so each is addressable.
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const path = [...issue.path, key];
        return {
          field: joinPath(prefix, path),
          rule: "unknown field",
          received: abbreviate(at(input, path)),
        };
      });
    }
    const value = at(input, issue.path);
    const fieldError: FieldError = { field: joinPath(prefix, issue.path), rule: issue.message };
    if (value !== undefined) fieldError.received = abbreviate(value);
    return [fieldError];
  });
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  const parts = [prefix, ...path.map(String)].filter((p) => p !== "");
  return parts.length === 0 ? "(body)" : parts.join(".");
}

function at(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function abbreviate(value: unknown): unknown {
  if (typeof value === "string") {
    return value.length > MAX_RECEIVED_CHARS ? `${value.slice(0, MAX_RECEIVED_CHARS)}…` : value;
  }
  if (value !== null && typeof value === "object") {
    const json = JSON.stringify(value);
    return json.length > MAX_RECEIVED_CHARS ? `${json.slice(0, MAX_RECEIVED_CHARS)}…` : value;
  }
  return value;
}
