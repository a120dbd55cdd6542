// The exposure event an assignment records. Its id is derived from (experiment, user), so asking
// again for the same user is acknowledged as a duplicate: the log keeps the first exposure (the one
// analysis starts the user's window at) and stays one row per user however often a client asks.
import { createHash } from "node:crypto";
import type { InteractionEvent } from "../../core/contracts/event.ts";

/** A name-based UUID (version 5 layout over SHA-256 bytes): same inputs, same id, on every replica. */
export function exposureEventId(experimentKey: string, userId: string): string {
  const bytes = createHash("sha256")
    .update(`reckon.exposure.v1\u0000${experimentKey}\u0000${userId}`)
    .digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function exposureEvent(
  experimentKey: string,
  variant: string,
  userId: string,
  at: Date,
): InteractionEvent {
  return {
    event_id: exposureEventId(experimentKey, userId),
    type: "exposure",
    user_id: userId,
    timestamp: at.toISOString(),
    experiment: { key: experimentKey, variant },
  };
}
