import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../testing/stack.ts";
import { LOG_START } from "../contracts/position.ts";
import { messageKey } from "../contracts/log-message.ts";
import { insertEvents } from "./event-store.ts";
import { recommendationServed } from "../contracts/recommendation-served.ts";
import { countLogAfter, readEncodedLogBatch, readLogBatch, readLogHead } from "./log-reader.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

/** Rows with chosen (already finished) transaction ids, so the order across a digit boundary can be checked. */
async function insertWithTransactionId(transactionId: number, position: number) {
  await t.db.query(
    `INSERT INTO events (position, transaction_id, event_id, kind, type, user_id, item_id, occurred_at, payload)
     OVERRIDING SYSTEM VALUE
     VALUES ($1, $2::text::xid8, $3, 'interaction', 'view', 'u', 'i', now(), '{}'::jsonb)`,
    [position, String(transactionId), randomUUID()],
  );
}

test("log order compares transaction ids as numbers, also across a digit boundary", async () => {
  // Positions deliberately disagree with transaction order, as they do when transactions commit out of order.
  await insertWithTransactionId(1000, 1);
  await insertWithTransactionId(999, 2);
  await insertWithTransactionId(10, 3);

  const firstTwo = await readLogBatch(t.db, LOG_START, 2);
  assert.deepEqual(
    firstTwo.map((m) => [m.transaction_id, m.position]),
    [
      ["10", 3],
      ["999", 2],
    ],
  );
  const rest = await readLogBatch(t.db, { transactionId: 999n, position: 2 }, 10);
  assert.deepEqual(
    rest.map((m) => [m.transaction_id, m.position]),
    [["1000", 1]],
  );
  assert.deepEqual(await readLogHead(t.db), { transactionId: 1000n, position: 1 });
  assert.equal(await countLogAfter(t.db, { transactionId: 10n, position: 3 }), 2);
});

test("the relay's encoded entries are readLogBatch's messages as JSON, keyed by messageKey, for every kind", async (ctx) => {
  // Its own database: the test above set positions by hand, past the identity sequence.
  const t = await createTestDatabase();
  ctx.after(() => t.drop());
  const after = LOG_START;
  const at = "2026-03-01T10:00:00.123Z";
  await t.db.transaction(async (tx) => {
    await insertEvents(tx, "interaction", [
      {
        event_id: randomUUID(),
        type: "purchase",
        user_id: 'u "quoted" \\ ünïcode 🎯',
        item_id: "i1",
        timestamp: at,
        value: 12.5,
        context: { device: "web", properties: { nested: [1, 2.25, null, true], big: 1e21 } },
      } as never,
    ]);
    await insertEvents(tx, "catalog", [
      {
        event_id: randomUUID(),
        type: "item_changed",
        item_id: "item/7",
        timestamp: at,
        item: { item_id: "item/7", categories: ["a", "b"], available: false, version: 3 },
      } as never,
    ]);
    await insertEvents(tx, "experiment", [
      { event_id: randomUUID(), type: "experiment_started", timestamp: at, experiment_key: "exp-1" } as never,
    ]);
    // A served recommendation is keyed by its user, as that user's interactions are.
    await insertEvents(tx, "recommendation", [
      recommendationServed({
        recommendationId: randomUUID(),
        userId: "u-served",
        at: new Date(at),
        modelVersion: 2,
        items: [{ item_id: "i1", source: "trending" }],
      }),
    ]);
  });
  // received_at with microseconds: both readers show the same milliseconds.
  await t.db.query(`UPDATE events SET received_at = '2026-03-01 10:00:01.987654+00' WHERE type = 'purchase'`);

  const messages = await readLogBatch(t.db, after, 10);
  const encoded = await readEncodedLogBatch(t.db, after, 10);
  assert.equal(messages.length, 4);
  assert.equal(encoded[3]!.key, "u-served");
  assert.deepEqual(
    encoded.map((e) => JSON.parse(e.value) as unknown),
    messages,
  );
  assert.deepEqual(
    encoded.map((e) => e.key),
    messages.map(messageKey),
  );
  assert.deepEqual(
    encoded.map((e) => [e.kind, e.position]),
    messages.map((m) => [m.kind, { transactionId: BigInt(m.transaction_id), position: m.position }]),
  );
  assert.equal(messages[0]!.received_at, "2026-03-01T10:00:01.987Z");
});
