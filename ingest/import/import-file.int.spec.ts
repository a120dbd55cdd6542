import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { importFile } from "./import-file.ts";
import { parseMapping } from "./rows-to-events.ts";

let t: TestDatabase;
const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-import-"));
const window = { now: new Date("2026-11-22T12:00:00Z"), maxAgeMs: undefined, maxSkewMs: 300_000 };

before(async () => {
  t = await createTestDatabase();
});
after(async () => {
  await t.drop();
});

test("a MovieLens-style CSV imports through validation, and importing it again stores nothing twice", async () => {
  const file = path.join(dir, "ratings.csv");
  writeFileSync(
    file,
    [
      "userId,movieId,rating,timestamp",
      "1,1,4.0,964982703",
      "1,3,4.0,964981247",
      "2,50,x,964982931",
      "3,6,5.0,",
    ].join("\n"),
  );
  const mapping = parseMapping("userId=user_id,movieId=item_id,rating=value", "type=rating");
  const first = await importFile({ db: t.db, file, format: "csv", mapping, window });
  assert.deepEqual(
    { rows: first.rows, accepted: first.accepted, duplicate: first.duplicate, rejected: first.rejected },
    { rows: 4, accepted: 2, duplicate: 0, rejected: 2 },
  );
  assert.deepEqual(
    first.rejections.map((r) => [r.row, r.errors.map((e) => e.field)]),
    [
      [3, ["value"]],
      [4, ["timestamp"]],
    ],
  );
  const { rows } = await t.db.query<{
    user_id: string;
    item_id: string;
    occurred_at: Date;
    payload: { value: number };
  }>("SELECT user_id, item_id, occurred_at, payload FROM events ORDER BY position");
  assert.deepEqual(
    rows.map((r) => [r.user_id, r.item_id, r.occurred_at.toISOString(), r.payload.value]),
    [
      ["1", "1", "2000-07-30T18:45:03.000Z", 4],
      ["1", "3", "2000-07-30T18:20:47.000Z", 4],
    ],
  );
  const again = await importFile({ db: t.db, file, format: "csv", mapping, window });
  assert.deepEqual({ accepted: again.accepted, duplicate: again.duplicate }, { accepted: 0, duplicate: 2 });
});

test("NDJSON lines are events as the API takes them; a line that is not an object is reported", async () => {
  const file = path.join(dir, "events.ndjson");
  const e = {
    event_id: "0b8f6a4e-3c1d-4e2f-9a8b-7c6d5e4f3a2b",
    type: "purchase",
    user_id: "u9",
    item_id: "i9",
    timestamp: "2026-11-21T10:00:00Z",
    value: 12.5,
    context: { country: "FR" },
  };
  writeFileSync(file, `${JSON.stringify(e)}\n[1,2]\n{"broken"\n`);
  const summary = await importFile({
    db: t.db,
    file,
    format: "ndjson",
    mapping: parseMapping(undefined, undefined),
    window,
  });
  assert.deepEqual(
    { rows: summary.rows, accepted: summary.accepted, rejected: summary.rejected },
    { rows: 3, accepted: 1, rejected: 2 },
  );
  assert.deepEqual(
    summary.rejections.map((r) => r.row),
    [2, 3],
  );
});
