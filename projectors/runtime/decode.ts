import { z } from "zod";
import { EventSchema } from "../../core/contracts/event.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";

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
