import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { LOG_START } from "../../core/contracts/position.ts";
import { countLogAfter, readLogBatch, readLogHead } from "./log-reader.ts";

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
