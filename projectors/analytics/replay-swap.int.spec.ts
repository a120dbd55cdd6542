// The analytics rebuild's table swap under concurrent inserts, many times: after every swap, each event the live
// projection had applied (everything in the log up to the head the swap's catch-up read) is in the live tables.
// The live projection and the rebuild share one store, as in a running Reckon (the projection, the self-rebuild and
// the ClickHouse HTTP endpoint all use the process's one in-process engine), so the live group commit's statements
// (events, items, positions) interleave with the rebuild's EXCHANGE TABLES statement by statement. Bounded: a swap
// that does not finish fails the test instead of hanging it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { compareLogPositions, LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogBatch, readLogHead, toLogPosition } from "../../core/event-store/log-reader.ts";
import type { Projection } from "../runtime/projection.ts";
import { createAnalyticsProjection } from "./projection.ts";
import { replayAnalytics } from "./replay.ts";

const SWAPS = Number(process.env.RECKON_SWAP_RUNS ?? 20);
const PARTITIONS = 3;
const TOPIC = "swap.events";
const dir = mkdtempSync(path.join(tmpdir(), "reckon-analytics-swap-"));
let t: TestDatabase;
let store: ClickHouseStore;

before(async () => {
  t = await createTestDatabase();
  store = await openClickHouse(`chdb://${dir}`);
});

after(async () => {
  await store?.close();
  await t?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bounded<T>(what: string, work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish in ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A live consumer in miniature: reads the log in order and applies each batch as three partition batches at once
 * (the runtime applies partitions concurrently, and the projection's group commit writes them together).
 */
function liveApplier(projection: Projection) {
  let position: LogPosition = LOG_START;
  let running = true;
  const loop = (async () => {
    while (running) {
      const batch = await readLogBatch(t.db, position, 200);
      if (batch.length === 0) {
        await sleep(10);
        continue;
      }
      const parts = Array.from({ length: PARTITIONS }, (_, p) =>
        batch.filter((m) => Number(m.position) % PARTITIONS === p),
      );
      await Promise.all(
        parts.map((messages, partition) =>
          messages.length === 0
            ? undefined
            : projection.apply({
                topic: TOPIC,
                partition,
                messages: messages.map((message) => ({ offset: String(message.position), message })),
              }),
        ),
      );
      position = toLogPosition(batch[batch.length - 1]!);
    }
  })();
  return {
    position: () => position,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function writeEvents(count: number): Promise<void> {
  await appendInteractionEvents(
    t.db,
    Array.from({ length: count }, (_, i) => ({
      event_id: randomUUID(),
      type: i % 4 === 0 ? "exposure" : "view",
      user_id: `u${Math.floor(Math.random() * 50)}`,
      item_id: `i${i % 20}`,
      timestamp: new Date().toISOString(),
      ...(i % 4 === 0 ? { experiment: { key: "exp", variant: i % 8 === 0 ? "a" : "b" } } : {}),
    })),
  );
}

test(`${SWAPS} rebuild swaps under concurrent inserts lose no applied event`, async () => {
  const live = createAnalyticsProjection({ clickhouse: store, minWriteIntervalMs: 20 });
  await writeEvents(200);
  const applier = liveApplier(live);
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await writeEvents(3);
      await sleep(25);
    }
  })();
  try {
    for (let swap = 1; swap <= SWAPS; swap++) {
      await bounded(
        `swap ${swap}`,
        replayAnalytics({
          db: t.db,
          clickhouse: store,
          topic: TOPIC,
          partitions: PARTITIONS,
          batchSize: 1000,
        }),
        90_000,
      );
      // Everything in the log now must reach the live tables, whichever side of the swap its insert landed on.
      const head = await readLogHead(t.db);
      await bounded(
        `the live projection after swap ${swap}`,
        (async () => {
          while (compareLogPositions(applier.position(), head) < 0) await sleep(20);
        })(),
        60_000,
      );
      const { rows } = await t.db.query<{ event_id: string }>(
        `SELECT event_id::text AS event_id FROM events
          WHERE kind = 'interaction' AND (transaction_id, position) <= ($1::text::xid8, $2::bigint)`,
        [head.transactionId.toString(), head.position],
      );
      const stored = new Set(
        (await store.query<{ id: string }>("SELECT toString(event_id) AS id FROM reckon.events FINAL")).map(
          (r) => r.id,
        ),
      );
      const missing = rows.filter((r) => !stored.has(r.event_id));
      assert.equal(
        missing.length,
        0,
        `after swap ${swap}: ${missing.length} of ${rows.length} applied events missing`,
      );
    }
  } finally {
    writing = false;
    await writer;
    await bounded("the live applier's last batch", applier.stop(), 60_000);
  }
});
