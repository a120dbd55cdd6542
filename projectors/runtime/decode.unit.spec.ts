import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeLogMessage, SharedLogDecoder } from "./decode.ts";
import { interaction } from "./testing.ts";

// interaction() draws a random event id: the same record's bytes are built once and copied per consumer.
const records = new Map<string, Buffer>();
const record = (user: string, position: number) => {
  const key = `${user}:${position}`;
  if (!records.has(key))
    records.set(
      key,
      Buffer.from(JSON.stringify(interaction(user, "i1", "click", "2026-11-01T10:00:00.000Z", position))),
    );
  return Buffer.from(records.get(key)!);
};

describe("SharedLogDecoder", () => {
  it("decodes a record once for every consumer of the process: the same frozen message, equal to a fresh decode", () => {
    const decoder = new SharedLogDecoder();
    const first = decoder.decode("t", 0, "7", record("u1", 7));
    const second = decoder.decode("t", 0, "7", record("u1", 7)); // another consumer's copy of the bytes
    assert.ok(first.ok && second.ok);
    assert.equal(second.message, first.message);
    assert.deepEqual(first, decodeLogMessage(record("u1", 7)));
    assert.ok(Object.isFrozen(first.message) && Object.isFrozen(first.message.event));
    assert.throws(() => {
      (first.message.event as { user_id: string }).user_id = "changed";
    }, TypeError);
  });

  it("decodes again when the bytes at that offset differ (a recreated topic), or the partition or topic does", () => {
    const decoder = new SharedLogDecoder();
    const before = decoder.decode("t", 0, "7", record("u1", 7));
    const recreated = decoder.decode("t", 0, "7", record("u2", 7));
    assert.ok(before.ok && recreated.ok);
    assert.equal(recreated.message.kind === "interaction" && recreated.message.event.user_id, "u2");
    const otherPartition = decoder.decode("t", 1, "7", record("u2", 7));
    const otherTopic = decoder.decode("t2", 0, "7", record("u2", 7));
    assert.ok(otherPartition.ok && otherTopic.ok);
    assert.notEqual(otherPartition.message, recreated.message);
    assert.notEqual(otherTopic.message, recreated.message);
  });

  it("keeps the reason of a record that is not a LogMessage, and of a tombstone", () => {
    const decoder = new SharedLogDecoder();
    const bad = Buffer.from(JSON.stringify({ kind: "interaction", position: 1 }));
    assert.deepEqual(decoder.decode("t", 0, "1", bad), decodeLogMessage(bad));
    assert.deepEqual(decoder.decode("t", 0, "1", Buffer.from(bad)), decodeLogMessage(bad));
    assert.deepEqual(decoder.decode("t", 0, "2", null), { ok: false, reason: "empty record (tombstone)" });
  });

  it("forgets the oldest record beyond its capacity", () => {
    const decoder = new SharedLogDecoder(2);
    const a = decoder.decode("t", 0, "1", record("u1", 1));
    decoder.decode("t", 0, "2", record("u1", 2));
    assert.equal(decoder.decode("t", 0, "1", record("u1", 1)), a, "still kept");
    decoder.decode("t", 0, "3", record("u1", 3)); // evicts offset 1 (the oldest insertion)
    const again = decoder.decode("t", 0, "1", record("u1", 1));
    assert.ok(a.ok && again.ok);
    assert.notEqual(again.message, a.message);
    assert.deepEqual(again.message, a.message);
  });

  it("with capacity 0 (one projection in the process) keeps nothing and freezes nothing", () => {
    const decoder = new SharedLogDecoder(0);
    const first = decoder.decode("t", 0, "7", record("u1", 7));
    const second = decoder.decode("t", 0, "7", record("u1", 7));
    assert.ok(first.ok && second.ok);
    assert.notEqual(second.message, first.message);
    assert.deepEqual(second.message, first.message);
    assert.equal(Object.isFrozen(first.message), false);
  });

  it("evicts in insertion order over many rounds of its ring", () => {
    const decoder = new SharedLogDecoder(3);
    const kept = new Map<number, unknown>();
    for (let offset = 1; offset <= 10; offset++) {
      const d = decoder.decode("t", 0, String(offset), record("u1", offset));
      assert.ok(d.ok);
      kept.set(offset, d.message);
    }
    for (const offset of [8, 9, 10]) {
      const d = decoder.decode("t", 0, String(offset), record("u1", offset));
      assert.ok(d.ok);
      assert.equal(d.message, kept.get(offset), `offset ${offset} is among the last 3`);
    }
    const old = decoder.decode("t", 0, "7", record("u1", 7));
    assert.ok(old.ok);
    assert.notEqual(old.message, kept.get(7));
  });
});

describe("decodeLogMessage of a served recommendation", () => {
  const served = {
    kind: "recommendation",
    position: 9,
    transaction_id: "77",
    received_at: "2026-11-01T10:00:00.000Z",
    event: {
      event_id: "00000000-0000-4000-8000-000000000009",
      type: "recommendation_served",
      user_id: "u1",
      timestamp: "2026-11-01T10:00:00.000Z",
      model_version: null,
      experiment: { key: "rankers", variant: "b" },
      items: [{ item_id: "i1", rank: 1, source: "trending" }],
    },
  };

  it("passes the contract (so the projections see it rather than the dead-letter topic)", () => {
    assert.deepEqual(decodeLogMessage(Buffer.from(JSON.stringify(served))), { ok: true, message: served });
  });

  it("names what is wrong with a malformed one", () => {
    const bad = { ...served, event: { ...served.event, items: [{ item_id: "i1", rank: 0, source: "x" }] } };
    const decoded = decodeLogMessage(Buffer.from(JSON.stringify(bad)));
    assert.equal(decoded.ok, false);
    assert.match(!decoded.ok ? decoded.reason : "", /^not a LogMessage: event\.items\.0\.rank /);
  });
});
