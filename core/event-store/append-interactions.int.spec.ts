import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { InteractionEvent } from "../contracts/event.ts";
import { createTestDatabase, type TestDatabase } from "../testing/stack.ts";
import { appendInteractionEvents, insertEvents } from "./event-store.ts";

let testDb: TestDatabase;
before(async () => {
  testDb = await createTestDatabase();
});
after(async () => {
  await testDb?.drop();
});

const event = (): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: "u1",
  item_id: "a",
  timestamp: "2026-01-01T00:00:00.000Z",
});

test("a duplicate whose first copy commits while the append waits on it is acknowledged with that copy's position", async () => {
  const db = testDb.db;
  const first = event();
  let releaseFirst!: () => void;
  const held = new Promise<void>((r) => (releaseFirst = r));
  let firstPosition: unknown;
  // Another request's transaction inserts the event and stays open, so the append's insert waits on its row.
  const other = db.transaction(async (tx) => {
    firstPosition = (await insertEvents(tx, "interaction", [first])).get(first.event_id);
    await held;
  });
  while (firstPosition === undefined) await new Promise((r) => setTimeout(r, 10));
  const append = appendInteractionEvents(db, [first, event()]);
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  releaseFirst();
  await other;
  const { outcomes } = await append;
  assert.deepEqual(outcomes[0], { event_id: first.event_id, status: "duplicate", position: firstPosition });
  assert.equal(outcomes[1]!.status, "accepted");
});
