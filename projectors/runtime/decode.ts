import { z } from "zod";
import { EventSchema } from "../../core/contracts/event.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { RecommendationServedSchema } from "../../core/contracts/recommendation-served.ts";

/**
 * Decodes a Kafka record of the events topic. Anything may be written to a topic (another producer, a
 * hand-typed test record), so every record is checked against the LogMessage contract before a projection
 * sees it; a failure is a value naming the reason, which the runtime sends to the dead-letter topic.
 */
const envelope = {
  position: z.number().int().positive(),
  transaction_id: z.string().regex(/^\d{1,20}$/, "must be a decimal transaction id"),
  received_at: z.string(),
};

const CatalogItemSchema = z.looseObject({
  item_id: z.string().min(1),
  version: z.number().int().min(0),
  categories: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()),
  available: z.boolean(),
  updated_at: z.string(),
});

const LogMessageSchema = z.discriminatedUnion("kind", [
  z.object({ ...envelope, kind: z.literal("interaction"), event: EventSchema }),
  z.object({
    ...envelope,
    kind: z.literal("catalog"),
    event: z.looseObject({
      event_id: z.string(),
      type: z.literal("item_changed"),
      item_id: z.string().min(1),
      timestamp: z.string(),
      item: CatalogItemSchema,
    }),
  }),
  z.object({
    ...envelope,
    kind: z.literal("experiment"),
    event: z.looseObject({
      event_id: z.string(),
      type: z.string(),
      timestamp: z.string(),
      experiment_key: z.string(),
    }),
  }),
  z.object({
    ...envelope,
    kind: z.literal("retraction"),
    event: z.looseObject({
      event_id: z.string(),
      type: z.literal("retraction"),
      retracts: z.string(),
      retraction_id: z.string(),
      user_id: z.string().min(1),
      timestamp: z.string(),
      categories: z.array(z.string()),
      original: EventSchema,
    }),
  }),
  // What serving answered (attribution of the analytics projection; the other projections drop it).
  z.object({ ...envelope, kind: z.literal("recommendation"), event: RecommendationServedSchema }),
]);

export type Decoded = { ok: true; message: LogMessage } | { ok: false; reason: string };

export function decodeLogMessage(value: Buffer | null): Decoded {
  if (value === null) return { ok: false, reason: "empty record (tombstone)" };
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  const parsed = LogMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `not a LogMessage: ${issue.path.join(".") || "(root)"} ${issue.message}` };
  }
  return { ok: true, message: parsed.data as LogMessage };
}

/**
 * Decodes each record once per process. Every projection has its own consumer group, so a process running
 * several of them receives each record once per projection; parsing and validating it again each time was a
 * quarter of the pipeline's CPU. Results are kept for the last `capacity` records by (topic, partition,
 * offset) and reused only when the record's bytes are the same (a recreated topic reuses offsets). Decoded
 * messages are frozen, since projections now share them.
 */
export class SharedLogDecoder {
  private readonly memo = new Map<string, { value: Buffer | null; decoded: Decoded }>();
  /**
   * Keys in insertion order, as a ring: evicting through the Map's own order (`keys().next()`) walks past
   * every entry deleted before it, which cost 17 µs a record at 20,000 entries.
   */
  private readonly ring: (string | undefined)[];
  private next = 0;

  /** `capacity` 0: no sharing (a process with one projection), each record decoded as it comes. */
  constructor(private readonly capacity = 20_000) {
    this.ring = new Array<string | undefined>(capacity);
  }

  decode(topic: string, partition: number, offset: string, value: Buffer | null): Decoded {
    if (this.capacity === 0) return decodeLogMessage(value);
    const key = `${topic}:${partition}:${offset}`;
    const hit = this.memo.get(key);
    if (hit && sameBytes(hit.value, value)) return hit.decoded;
    const decoded = decodeLogMessage(value);
    if (decoded.ok) deepFreeze(decoded.message);
    if (!hit) {
      const evicted = this.ring[this.next];
      if (evicted !== undefined) this.memo.delete(evicted);
      this.ring[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.memo.set(key, { value, decoded });
    return decoded;
  }
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
