import { test } from "node:test";
import assert from "node:assert/strict";
import { byPartitionLimit, MAX_MONTHS_PER_INSERT } from "./projection.ts";

test("a live batch is one insert; a backfill spanning more months than ClickHouse allows is split by month", () => {
  const row = (occurred_at: string) => ({ occurred_at });
  assert.deepEqual(byPartitionLimit([]), []);
  const live = [row("2026-11-22T10:00:00.000Z"), row("2026-11-21T23:59:00.000Z")];
  assert.deepEqual(byPartitionLimit(live), [live]);

  // 250 months from 1996-01: 100 + 100 + 50 months, each month's rows kept together, in month order.
  const history = Array.from({ length: 250 }, (_, i) => {
    const year = 1996 + Math.floor(i / 12);
    const month = String((i % 12) + 1).padStart(2, "0");
    return row(`${year}-${month}-15T00:00:00.000Z`);
  }).reverse();
  const chunks = byPartitionLimit([...history, history[0]!]);
  assert.deepEqual(
    chunks.map((c) => new Set(c.map((r) => r.occurred_at.slice(0, 7))).size),
    [MAX_MONTHS_PER_INSERT, MAX_MONTHS_PER_INSERT, 50],
  );
  assert.equal(chunks.flat().length, 251);
  assert.equal(chunks[0]![0]!.occurred_at, "1996-01-15T00:00:00.000Z");
  assert.equal(chunks[2]!.at(-1)!.occurred_at.slice(0, 7), "2016-10");
});
