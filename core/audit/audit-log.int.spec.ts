import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase, type TestDatabase } from "../testing/stack.ts";
import { recordAudit } from "./audit-log.ts";

let t: TestDatabase;
before(async () => {
  t = await createTestDatabase({ migrated: true });
});
after(async () => {
  await t.drop();
});

test("an entry is appended with every field, and the log refuses updates and deletes", async () => {
  await recordAudit(t.db, {
    actor: "abc123def456",
    requestId: "req-1",
    action: "catalog.upsert",
    target: "item-1",
    outcome: "ok",
    details: { categories: 2 },
  });
  const { rows } = await t.db.query<Record<string, unknown>>(
    "SELECT actor, request_id, action, target, outcome, details FROM audit_log",
  );
  assert.deepEqual(rows, [
    {
      actor: "abc123def456",
      request_id: "req-1",
      action: "catalog.upsert",
      target: "item-1",
      outcome: "ok",
      details: { categories: 2 },
    },
  ]);
  await assert.rejects(t.db.query("UPDATE audit_log SET outcome = 'failed'"), /append-only/);
  await assert.rejects(t.db.query("DELETE FROM audit_log"), /append-only/);
});
