import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { InteractionEvent } from "../contracts/event.ts";
import { LOG_START } from "../contracts/position.ts";
import { appendInteractionEvents, EVENTS_CHANNEL } from "../event-store/event-store.ts";
import { countLogAfter, readLogBatch, readLogHead, toLogPosition } from "../event-store/log-reader.ts";
import { loadCheckpoint, storeCheckpoint } from "./checkpoints.ts";
import type { Database } from "./database.ts";
import { migrate } from "./migrate.ts";

export interface DatabaseUnderTest {
  db: Database;
  /** Closes the adapter and removes what the test created. */
  dispose(): Promise<void>;
}

const event = (userId: string, itemId: string, at = "2026-01-01T00:00:00.000Z"): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: userId,
  item_id: itemId,
  timestamp: at,
});

/**
 * What every adapter of the SQL port must do alike (Gorse's baseTestSuite idea): the `pg` adapter on the
 * Postgres server and the embedded PGlite adapter both register these tests, and they run the product's own
 * store code (event store, log reader, checkpoints), so both adapters run the same SQL.
 * `open` returns a fresh, unmigrated database.
 */
export function registerDatabaseConformance(name: string, open: () => Promise<DatabaseUnderTest>): void {
  describe(`Database conformance: ${name}`, () => {
    let subject: DatabaseUnderTest;
    let db: Database;

    before(async () => {
      subject = await open();
      db = subject.db;
    });
    after(async () => {
      await subject.dispose();
    });

    it("applies the migrations once, and again as a no-op", async () => {
      const first = await migrate(db);
      assert.ok(first.includes("core/001_events.sql"), `applied: ${first.join(", ")}`);
      assert.deepEqual(await migrate(db), []);
    });

    it("returns values of each type as the pg adapter does", async () => {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT $1::bigint AS big, $2::jsonb AS doc, $3::timestamptz AS at, $4::text AS txt,
                pg_current_xact_id()::text AS xid, 2.5::float8 AS dbl, true AS flag, NULL::text AS nothing`,
        [9_007_199_254_740_991, JSON.stringify({ a: [1, "x"] }), "2026-01-02T03:04:05.678Z", "héllo"],
      );
      const row = rows[0]!;
      assert.equal(row.big, 9_007_199_254_740_991);
      assert.deepEqual(row.doc, { a: [1, "x"] });
      assert.ok(row.at instanceof Date);
      assert.equal((row.at as Date).toISOString(), "2026-01-02T03:04:05.678Z");
      assert.equal(row.txt, "héllo");
      assert.match(row.xid as string, /^\d+$/);
      assert.equal(row.dbl, 2.5);
      assert.equal(row.flag, true);
      assert.equal(row.nothing, null);
    });

    it("round-trips bytea as bytes and reports a statement's error with its SQLSTATE and constraint", async () => {
      const bytes = Uint8Array.from([0, 1, 254, 255]);
      const { rows } = await db.query<{ b: Uint8Array }>("SELECT $1::bytea AS b", [bytes]);
      assert.deepEqual(Uint8Array.from(rows[0]!.b), bytes);
      await db.query("CREATE TEMP TABLE conf_unique (k text CONSTRAINT conf_unique_k PRIMARY KEY)");
      await db.query("INSERT INTO conf_unique VALUES ($1)", ["a"]);
      await assert.rejects(db.query("INSERT INTO conf_unique VALUES ($1)", ["a"]), (err: Error) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /duplicate key value violates unique constraint "conf_unique_k"/);
        assert.equal((err as Error & { code?: string }).code, "23505");
        assert.equal((err as Error & { constraint?: string }).constraint, "conf_unique_k");
        return true;
      });
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("SELECT 1 / $1::int", [0]);
        }),
        (err: Error) => (err as Error & { code?: string }).code === "22012",
      );
    });

    it("runs a multi-statement text without parameters, as migrations do", async () => {
      const rows = (
        await db.query("CREATE TEMP TABLE conf_multi (n int); INSERT INTO conf_multi VALUES (1), (2)")
      ).rows;
      assert.deepEqual(rows, []);
      assert.deepEqual((await db.query("SELECT sum(n)::int AS s FROM conf_multi")).rows, [{ s: 3 }]);
    });

    it("commits a transaction that resolves and rolls back one that throws", async () => {
      await db.query("CREATE TABLE conf_tx (n int)");
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO conf_tx VALUES ($1)", [1]);
      });
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO conf_tx VALUES ($1)", [2]);
          throw new Error("abort");
        }),
        /abort/,
      );
      assert.deepEqual((await db.query("SELECT n FROM conf_tx ORDER BY n")).rows, [{ n: 1 }]);
    });

    it("keeps concurrent transactions isolated: 20 read-modify-write increments under a row lock", async () => {
      await db.query("CREATE TABLE conf_counter (id int PRIMARY KEY, n int NOT NULL)");
      await db.query("INSERT INTO conf_counter VALUES (1, 0)");
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const { rows } = await tx.query<{ n: number }>(
              "SELECT n FROM conf_counter WHERE id = 1 FOR UPDATE",
            );
            await tx.query("UPDATE conf_counter SET n = $1 WHERE id = 1", [rows[0]!.n + 1]);
          }),
        ),
      );
      assert.deepEqual((await db.query("SELECT n FROM conf_counter")).rows, [{ n: 20 }]);
    });

    it("delivers NOTIFY after the commit only, and stops after unsubscribe", async () => {
      const received: string[] = [];
      const unsubscribe = await db.listen("conf_channel", (p) => received.push(p));
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("SELECT pg_notify('conf_channel', 'rolled-back')");
          throw new Error("abort");
        }),
      );
      await db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('conf_channel', 'committed')");
      });
      await waitFor(() => received.length > 0);
      assert.deepEqual(received, ["committed"]);
      await unsubscribe();
      await db.query("SELECT pg_notify('conf_channel', 'after')");
      await db.query("SELECT pg_sleep(0.05)");
      assert.deepEqual(received, ["committed"]);
    });

    it("appends events once by event_id and notifies the relay's channel", async () => {
      let notified = 0;
      const unsubscribe = await db.listen(EVENTS_CHANNEL, () => notified++);
      const batch = [event("u1", "a"), event("u1", "b"), event("u2", "a")];
      const first = await appendInteractionEvents(db, batch);
      assert.deepEqual(
        first.outcomes.map((o) => o.status),
        ["accepted", "accepted", "accepted"],
      );
      const again = await appendInteractionEvents(db, [batch[1]!, event("u3", "c")]);
      assert.deepEqual(
        again.outcomes.map((o) => o.status),
        ["duplicate", "accepted"],
      );
      assert.deepEqual(again.outcomes[0]!.position, first.outcomes[1]!.position);
      await waitFor(() => notified >= 2);
      await unsubscribe();
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM events");
      assert.equal(rows[0]!.n, 4);
    });

    it("reads the log in (transaction, position) order below the oldest running transaction", async () => {
      const before = await readLogHead(db);
      await appendInteractionEvents(db, [event("log1", "x"), event("log1", "y")]);
      await appendInteractionEvents(db, [event("log2", "z")]);
      const read = await readLogBatch(db, before, 10);
      assert.deepEqual(
        read.map((m) => (m.event as InteractionEvent).item_id),
        ["x", "y", "z"],
      );
      assert.equal(await countLogAfter(db, before), 3);
      assert.deepEqual(toLogPosition(read.at(-1)!), await readLogHead(db));
      assert.deepEqual(await readLogBatch(db, toLogPosition(read[0]!), 1), [read[1]]);
    });

    it("moves a checkpoint by compare-and-set only", async () => {
      assert.deepEqual(await loadCheckpoint(db, "conf"), LOG_START);
      const next = { transactionId: 10n, position: 5 };
      assert.equal(await storeCheckpoint(db, "conf", LOG_START, next), true);
      assert.equal(await storeCheckpoint(db, "conf", LOG_START, { transactionId: 11n, position: 6 }), false);
      assert.deepEqual(await loadCheckpoint(db, "conf"), next);
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
