/**
 * JSON with object keys in sorted order (arrays keep theirs): the same value arrives with its keys in different
 * orders (Postgres jsonb does not keep key order; the validated Kafka record does), and stored state and
 * comparisons must not depend on the path it took. Otherwise exactly JSON.stringify (toJSON, undefined dropped).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
