// The item-detail stats undo retractions live, on both adapters of the SQL port (the stack's Postgres and
// PGlite): a mixed batch sent, then retracted (part of it in the batch that brings the originals), leaves the
// same rows as the model applied to the log without those events; retracting again and a redelivery change
// nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createTestDatabase } from "../../core/testing/stack.ts";
import { openDatabase, type Database } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";
import { itemDetailReadModel } from "./item-detail-model.ts";
import { createSqlProjection } from "./sql-projection.ts";

const T0 = Date.parse("2026-05-01T00:00:00.000Z");
const HOUR = 3_600_000;
/** The version the expected rows are written to, beside the live one (1). */
const EXPECTED = 77;

const backends: { name: string; open(): Promise<{ db: Database; close(): Promise<void> }> }[] = [
  {
    name: "Postgres",
    async open() {
      const t = await createTestDatabase();
      return { db: t.db, close: () => t.drop() };
    },
  },
  {
    name: "PGlite",
    async open() {
      const db = openDatabase("pglite://");
      await migrate(db);
      return { db, close: () => db.close() };
    },
  },
];

let sequence = 0;
const event = (user: string, type: string, item: string, hours: number): InteractionEvent => ({
  event_id: `00000000-0000-4000-9000-${(++sequence).toString(16).padStart(12, "0")}`,
  type,
  user_id: user,
  item_id: item,
  timestamp: new Date(T0 + hours * HOUR).toISOString(),
});

/** Several users and types over three items and several decay windows (hours apart, days apart). */
function mixedBatch(): InteractionEvent[] {
  const plan: [string, string, string, number][] = [
    ["u1", "view", "i1", 1],
    ["u1", "purchase", "i1", 2],
    ["u2", "view", "i1", 3],
    ["u2", "click", "i2", 30],
    ["u3", "add_to_cart", "i2", 31],
    ["u3", "view", "i3", 100],
    ["u4", "exposure", "i3", 101],
  ];
  const out = plan.map(([u, type, item, h]) => event(u, type, item, h));
  for (let i = 0; i < 6; i++) out.push(event("bot", i % 2 ? "click" : "view", `i${(i % 3) + 1}`, 200 + i));
  return out;
}

for (const backend of backends)
  describe(`item-detail stats undo retractions live on ${backend.name}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let applied: LogPosition = LOG_START;
    const model = itemDetailReadModel(DEFAULT_FEATURES_CONFIG);
    const sent: InteractionEvent[] = [];

    const readAll = async (from: LogPosition = LOG_START) => {
      const out: LogMessage[] = [];
      for (let at = from; ;) {
        const batch = await readLogBatch(db, at, 1000);
        if (batch.length === 0) return out;
        out.push(...batch);
        at = toLogPosition(batch.at(-1)!);
      }
    };

    /** The live consumer, in batches of 3, so some originals and their retractions share a batch. */
    const catchUp = async (messages?: LogMessage[]) => {
      const projection = createSqlProjection(db, model);
      const batch = messages ?? (await readAll(applied));
      for (let i = 0; i < batch.length; i += 3)
        await projection.apply({
          topic: "t",
          partition: 0,
          messages: batch.slice(i, i + 3).map((message) => ({ offset: String(message.position), message })),
        });
      if (messages === undefined && batch.length > 0) applied = toLogPosition(batch.at(-1)!);
    };

    const rows = async (version: number) => ({
      counts: (
        await db.query(
          `SELECT item_id, type, count::int AS count FROM item_detail_counts WHERE version = $1 ORDER BY 1, 2`,
          [version],
        )
      ).rows,
      popularity: (
        await db.query(
          `SELECT item_id, horizon, window_index::text AS w, value::text AS value FROM item_detail_popularity
            WHERE version = $1 ORDER BY 1, 2, 3`,
          [version],
        )
      ).rows,
    });

    /** The model applied to the log without the retracted events and the retractions, in version EXPECTED. */
    const expected = async () => {
      const log = await readAll();
      const retracted = new Set(log.flatMap((m) => (m.kind === "retraction" ? [m.event.retracts] : [])));
      const kept = log.filter(
        (m) => m.kind !== "retraction" && !(m.kind === "interaction" && retracted.has(m.event.event_id)),
      );
      await db.transaction(async (tx) => {
        await model.deleteVersion(tx, EXPECTED);
        await model.apply(tx, EXPECTED, kept);
      });
      return rows(EXPECTED);
    };

    const retract = async (body: Record<string, unknown>) => {
      const parsed = parseRetractionRequest(body);
      assert.ok(parsed.ok, JSON.stringify(parsed));
      return retractEvents(db, parsed.request as RetractionRequest, { actor: "test-key" });
    };

    before(async () => {
      ({ db, close } = await backend.open());
      sequence = 0;
      sent.push(...mixedBatch());
      await appendInteractionEvents(db, sent);
    });

    after(async () => {
      await close();
    });

    it("a mixed batch retracted equals the model of the log without it", async () => {
      const id = (user: string, type: string) =>
        sent.find((e) => e.user_id === user && e.type === type)!.event_id;
      // Before the projection saw them: originals and retractions in one catch-up.
      await retract({ event_ids: [id("u1", "purchase"), id("u4", "exposure")] });
      await catchUp();
      assert.deepEqual(await rows(1), await expected());
      const before = await rows(1);
      await retract({ event_ids: [id("u3", "add_to_cart"), id("u2", "view")] });
      await retract({ user_id: "bot" });
      await catchUp();
      const after = await rows(1);
      assert.notDeepEqual(after, before);
      assert.deepEqual(after, await expected());
      assert.ok(!after.counts.some((r) => r.item_id === "i2" && r.type === "add_to_cart"));
    });

    it("retracting again, and a redelivery of the whole log, change nothing", async () => {
      const before = await rows(1);
      assert.equal((await retract({ user_id: "bot" })).retracted, 0);
      await catchUp();
      await catchUp(await readAll());
      assert.deepEqual(await rows(1), before);
    });
  });
