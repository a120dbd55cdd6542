// A historical backfill through the analytics projection on the ClickHouse engine: one batch spanning more
// months than ClickHouse accepts in one INSERT must be projected, not retried forever.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { createAnalyticsProjection } from "./projection.ts";

test("a 250-month backfill batch is stored whole", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-backfill-"));
  const ch = await openClickHouse(`chdb://${dir}`);
  try {
    const projection = createAnalyticsProjection({ clickhouse: ch });
    const messages: LogMessage[] = Array.from({ length: 250 }, (_, i) => ({
      kind: "interaction",
      position: i + 1,
      transaction_id: "500",
      received_at: "2026-11-22T10:00:00.000Z",
      event: {
        event_id: randomUUID(),
        type: "view",
        user_id: `u${i % 7}`,
        item_id: `m${i}`,
        timestamp: new Date(Date.UTC(1996, i, 15)).toISOString(),
      },
    }));
    const outcomes = await projection.apply({
      topic: "reckon.events.v1",
      partition: 0,
      messages: messages.map((message, i) => ({ offset: String(i), message })),
    });
    assert.deepEqual(new Set(outcomes.map((o) => o.kind)), new Set(["ok"]));
    assert.deepEqual(
      await ch.query(
        "SELECT count() AS n, uniqExact(toYYYYMM(occurred_at)) AS months FROM reckon.events FINAL",
      ),
      [{ n: "250", months: "250" }],
    );
    assert.deepEqual(await projection.appliedPosition("reckon.events.v1", 0), {
      transactionId: 500n,
      position: 250,
    });
  } finally {
    await ch.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
