import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogMessage } from "../contracts/log-message.ts";
import { dropRetracted } from "./retracted-events.ts";

const envelope = (position: number) => ({
  position,
  transaction_id: "7",
  received_at: "2026-01-01T00:00:00.000Z",
});
const click = (position: number, id: string): LogMessage => ({
  ...envelope(position),
  kind: "interaction",
  event: { event_id: id, type: "click", user_id: "u", item_id: "i", timestamp: "2026-01-01T00:00:00.000Z" },
});
const retraction = (position: number, of: LogMessage): LogMessage => ({
  ...envelope(position),
  kind: "retraction",
  event: {
    event_id: `r-${position}`,
    type: "retraction",
    retracts: (of.event as { event_id: string }).event_id.toUpperCase(),
    retraction_id: "cmd",
    user_id: "u",
    timestamp: "2026-01-02T00:00:00.000Z",
    categories: [],
    original: of.event as never,
  },
});

describe("dropRetracted", () => {
  it("drops retracted interactions and their retractions, keeps a retraction whose original is absent", () => {
    const a = click(1, "a");
    const b = click(2, "b");
    const c = click(3, "c");
    const elsewhere = click(99, "z");
    const log = [a, b, c, retraction(4, b), retraction(5, elsewhere)];
    assert.deepEqual(dropRetracted(log), [a, c, log[4]]);
    assert.deepEqual(dropRetracted([a, c]), [a, c]);
  });
});
