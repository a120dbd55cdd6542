import { createHash } from "node:crypto";

/**
 * Turns a flat import row (CSV columns or an NDJSON object) into an event candidate for validation.
 * Pure: the same row always gives the same event, including its event_id when the row has none, so importing
 * a file twice stores it once.
 */
export interface RowMapping {
  /** Source column → contract field, e.g. { userId: "user_id", movieId: "item_id", rating: "value" }. */
  rename: Record<string, string>;
  /** Constant fields set on every event, e.g. { type: "rating" }. */
  constants: Record<string, string>;
}

const NUMERIC_FIELDS = new Set(["value"]);

export function rowToEvent(row: Record<string, unknown>, mapping: RowMapping): Record<string, unknown> {
  const flat: Record<string, unknown> = { ...mapping.constants };
  for (const [column, value] of Object.entries(row)) {
    if (value === "" || value === undefined) continue;
    flat[mapping.rename[column] ?? column] = value;
  }
  const event: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(flat)) {
    const dot = field.indexOf(".");
    if (dot > 0) {
      // `context.device`, `properties.plan`, `experiment.key`: flat CSV columns for nested fields.
      const parent = field.slice(0, dot);
      const child = field.slice(dot + 1);
      const nested = (event[parent] ??= {}) as Record<string, unknown>;
      nested[child] = value;
    } else if (NUMERIC_FIELDS.has(field) && typeof value === "string" && value.trim() !== "") {
      event[field] = Number(value);
    } else if (field === "timestamp") {
      event[field] = normaliseTimestamp(value);
    } else {
      event[field] = value;
    }
  }
  event.event_id ??= deterministicUuid(JSON.stringify(row));
  return event;
}

/** Epoch seconds or milliseconds become ISO-8601; anything else is left for validation to judge. */
export function normaliseTimestamp(value: unknown): unknown {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || !/^\d{9,13}(\.\d+)?$/.test(text)) return value;
  const n = Number(text);
  return new Date(n >= 1e12 ? n : n * 1000).toISOString();
}

/** A name-based (v5-style, SHA-1) UUID: stable for the same input. */
export function deterministicUuid(name: string): string {
  const h = createHash("sha1").update("reckon-import:").update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function parseMapping(map: string | undefined, set: string | undefined): RowMapping {
  const pairs = (s: string | undefined) =>
    Object.fromEntries(
      (s ?? "")
        .split(",")
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => {
          const eq = p.indexOf("=");
          if (eq <= 0) throw new Error(`expected NAME=VALUE, received "${p}"`);
          return [p.slice(0, eq), p.slice(eq + 1)];
        }),
    );
  return { rename: pairs(map), constants: pairs(set) };
}
