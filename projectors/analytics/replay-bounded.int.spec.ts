import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { createTestDatabase, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { migrateAnalyticsSchema } from "./migrate.ts";
import { replayAnalytics } from "./replay.ts";

/**
 * A rebuild ends even when the log grows faster than it applies: it rebuilds up to the head it saw at its start
 * and leaves the rest to the catch-up after the switch. Here every applied batch appends more than a batch of
 * new events; a rebuild chasing the live head would never see a short batch (the spec stops appending after
 * 40 batches so that such a rebuild still ends, and counts its batches).
 */
const dir = mkdtempSync(path.join(tmpdir(), "reckon-replay-bounded-"));
let ch: ClickHouseStore;
let t: TestDatabase;
let written = 0;

before(async () => {
  t = await createTestDatabase();
  ch = await openClickHouse(`chdb://${dir}`);
  await migrateAnalyticsSchema(ch);
});
after(async () => {
  await ch.close();
  await t.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function write(count: number): Promise<void> {
  const events: InteractionEvent[] = Array.from({ length: count }, (_, i) => ({
    event_id: randomUUID(),
    type: "view",
    user_id: `u${(written + i) % 13}`,
    item_id: `i${(written + i) % 7}`,
    timestamp: new Date(Date.UTC(2026, 0, 1) + (written + i) * 1000).toISOString(),
  }));
  written += count;
  await appendInteractionEvents(t.db, events);
}

test("a rebuild stops at the head it started from while the log keeps growing; the catch-up applies the rest", async () => {
  const BATCH = 50;
  await write(200); // four batches before the rebuild starts
  let batches = 0;
  const result = await replayAnalytics({
    db: t.db,
    clickhouse: ch,
    topic: uniqueName("test.events"),
    partitions: 3,
    batchSize: BATCH,
    onBatch: () => {
      batches++;
      // More than a batch of new events per applied batch, for a bounded number of batches.
      if (batches <= 40) return write(BATCH + 10);
    },
  });
  assert.equal(batches, 4, "the rebuild applied the four batches that were in the log at its start");
  assert.equal(result.events, 200);
  assert.equal(result.caughtUp, written - 200, "the catch-up applied everything written meanwhile");
  const [row] = await ch.query<{ n: string }>("SELECT count() AS n FROM reckon.events FINAL");
  assert.equal(Number(row!.n), written);
});
