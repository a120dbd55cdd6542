import { createHash } from "node:crypto";

/** The namespace of retraction ids (a fixed random UUID; RFC 9562 name-based ids need one). */
export const RETRACTION_NAMESPACE = "5f1c4a53-2d0e-4c7b-9a61-8f3e2b7d0c14";

/**
 * The event id of the retraction of `eventId`: a UUIDv5 (SHA-1, RFC 9562 §5.5) of the original's id. One id
 * per original, so the log's unique event_id turns a second retraction of the same event into a no-op, and
 * "is it retracted?" is one index lookup.
 */
export function retractionEventId(eventId: string): string {
  const ns = Buffer.from(RETRACTION_NAMESPACE.replace(/-/g, ""), "hex");
  const hash = createHash("sha1").update(ns).update(eventId.toLowerCase(), "utf8").digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50; // version 5
  b[8] = (b[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = b.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
