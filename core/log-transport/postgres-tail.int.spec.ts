import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../testing/stack.ts";
import { openDatabase, type Database } from "../postgres/database.ts";
import { migrate } from "../postgres/migrate.ts";
import { appendInteractionEvents } from "../event-store/event-store.ts";
import { readLogHead } from "../event-store/log-reader.ts";
import { formatPositionToken, LOG_START, type LogPosition } from "../contracts/position.ts";
import type { InteractionEvent } from "../contracts/event.ts";
import type { TransportBatch } from "./port.ts";
import { PostgresTailTransport } from "./postgres-tail.ts";

/** The Postgres tail's own rules, on a Postgres server and on PGlite (the runtime's are in the conformance suite). */

const event = (user: string): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: user,
  item_id: "i1",
  timestamp: new Date().toISOString(),
});

const HOUR_MS = 3_600_000;

for (const backend of ["Postgres server", "PGlite"] as const) {
  describe(`Postgres tail on ${backend}`, () => {
    let server: TestDatabase | undefined;
    let db: Database;

    before(async () => {
      if (backend === "PGlite") {
        db = openDatabase("pglite://");
        await migrate(db);
      } else {
        server = await createTestDatabase();
        db = server.db;
      }
    });

    after(async () => {
      if (server) await server.drop();
      else await db.close();
    });

    test("a commit wakes a waiting consumer: records come although the next poll is an hour away", async () => {
      const tail = new PostgresTailTransport({ db, topic: "events", pollMs: HOUR_MS });
      const batches: TransportBatch[] = [];
      let arrived: (() => void) | undefined;
      const subscription = await tail.subscribe({
        consumer: `wake-${randomUUID()}`,
        onBatch: async (batch) => {
          batches.push(batch);
          await batch.commit(batch.records.at(-1)!.offset, undefined);
          arrived?.();
        },
      });
      try {
        for (const user of ["u1", "u2"]) {
          const next = new Promise<void>((resolve) => (arrived = resolve));
          // Lets the consumer reach its wait first, so the record can only come through the wake-up.
          await new Promise((r) => setTimeout(r, 200));
          const { head } = await appendInteractionEvents(db, [event(user)]);
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            next,
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`no batch for ${user} within 30 s of its commit`)),
                30_000,
              );
            }),
          ]).finally(() => clearTimeout(timer));
          assert.equal(batches.at(-1)!.records.at(-1)!.offset, formatPositionToken(head!));
        }
        assert.deepEqual(
          batches.map((b) =>
            b.records.map(
              (r) => (JSON.parse(r.value!.toString()) as { event: InteractionEvent }).event.user_id,
            ),
          ),
          [["u1"], ["u2"]],
        );
      } finally {
        await subscription.stop();
        await tail.close();
      }
    });

    test("the consumer's position: what it committed or what its store holds, never past the visible head", async () => {
      const tail = new PostgresTailTransport({ db, topic: "events", pollMs: 20 });
      const consumer = `position-${randomUUID()}`;
      const nothing = async () => undefined;
      try {
        await appendInteractionEvents(db, [event("a"), event("b")]);
        const head = await readLogHead(db);
        assert.deepEqual(await tail.consumerPosition(consumer, nothing), LOG_START);
        const stored: LogPosition = { transactionId: head.transactionId, position: head.position - 1 };
        assert.deepEqual(await tail.consumerPosition(consumer, async () => stored), stored);
        assert.deepEqual(
          await tail.consumerPosition(consumer, async () => ({
            transactionId: head.transactionId + 10n,
            position: 1,
          })),
          head,
        );

        // A consumer that dead-lettered its last records committed them without the store moving.
        let committed!: () => void;
        const done = new Promise<void>((resolve) => (committed = resolve));
        const subscription = await tail.subscribe({
          consumer,
          onBatch: async (batch) => {
            const last = batch.records.at(-1)!.offset;
            await batch.commit(last, undefined);
            if (last === formatPositionToken(head)) committed();
          },
        });
        await done;
        await subscription.stop();
        assert.deepEqual(await tail.consumerPosition(consumer, nothing), head);
        assert.deepEqual(await tail.committedPositions(consumer), new Map(), "no applied position committed");
        assert.deepEqual(await tail.partitions(), [0]);
      } finally {
        await tail.close();
      }
    });

    test("dead letters are stored with their reason and source", async () => {
      const tail = new PostgresTailTransport({ db, topic: "events" });
      const projector = `dlq-${randomUUID()}`;
      await tail.deadLetter(projector, "events", 0, [
        { record: { offset: "12.3", key: "u1", value: Buffer.from('{"x":1}') }, reason: "bad" },
        { record: { offset: "12.4", key: null, value: null }, reason: "empty" },
      ]);
      const { rows } = await db.query(
        `SELECT source_topic, source_partition, source_offset, key, value, reason
           FROM dead_letters WHERE projector = $1 ORDER BY id`,
        [projector],
      );
      assert.deepEqual(rows, [
        {
          source_topic: "events",
          source_partition: 0,
          source_offset: "12.3",
          key: "u1",
          value: '{"x":1}',
          reason: "bad",
        },
        {
          source_topic: "events",
          source_partition: 0,
          source_offset: "12.4",
          key: null,
          value: null,
          reason: "empty",
        },
      ]);
      await tail.close();
    });
  });
}
