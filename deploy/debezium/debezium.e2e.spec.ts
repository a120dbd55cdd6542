import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { Kafka } from "kafkajs";
import { stackEnv, uniqueName } from "../../core/testing/stack.ts";
import { createKafka, ensureTopics } from "../../core/kafka/kafka.ts";
import { openDatabase, type Database } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { appendInteractionEvents, insertEvents } from "../../core/event-store/event-store.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { Relay } from "../../ingest/relay/relay.ts";
import { freePort, startPrivatePostgres, type PrivatePostgres } from "./private-postgres.ts";
import {
  CONNECTOR_PROPERTIES,
  WORKER_PROPERTIES,
  fetchDebeziumLibs,
  propertiesWith,
  startConnectStandalone,
  type ConnectStandalone,
} from "./kafka-connect.ts";

/**
 * Debezium as the relay: Kafka Connect standalone with the Debezium Postgres connector, configured by the shipped
 * connector.properties and worker.properties, publishes the same messages, on the same partitions and in the same
 * per-user order, as Reckon's own relay does for the same log. Postgres is a private cluster (wal_level=logical;
 * the shared server is never reconfigured); Kafka is the shared broker with this run's own topics.
 */

const PARTITIONS = 3;
const USERS = ["ada", "bob", "cyd", "dee", "eve"];
const kafka = createKafka(stackEnv().KAFKA_BROKERS, "debezium-test");
const relayTopic = uniqueName("test.relay");
const debeziumTopic = uniqueName("test.debezium");
const slot = uniqueName("reckon_debezium").toLowerCase();

let libs: string;
let postgres: PrivatePostgres | undefined;
let db: Database | undefined;
let relay: Relay | undefined;
let connect: ConnectStandalone | undefined;
let workDir: string | undefined;
const stopCollectors: Array<() => Promise<void>> = [];

before(
  async () => {
    libs = await fetchDebeziumLibs(290_000);
  },
  { timeout: 300_000 },
);

after(
  async () => {
    for (const stop of stopCollectors) await stop().catch(() => undefined);
    await relay?.stop();
    await connect?.stop();
    await db?.close();
    await postgres?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [relayTopic, debeziumTopic] }).catch(() => undefined);
    await admin.disconnect();
  },
  { timeout: 60_000 },
);

/** A mix of what properties may hold, including what a schema-inferring JSON expansion would lose. */
let counter = 0;
function interaction(user: string): InteractionEvent {
  counter++;
  return {
    event_id: randomUUID(),
    type: counter % 4 === 0 ? "rating" : "view",
    user_id: user,
    item_id: `item-${counter % 7}`,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, counter)).toISOString(),
    ...(counter % 4 === 0 ? { value: 4.5 } : {}),
    properties: { n: counter, empty: [], nothing: null, mixed: [1, "a", { b: true }], nested: {} },
  };
}

/** Several transactions, each appending events of several users (log order then interleaves users). */
async function writeInteractions(database: Database, transactions: number, perTransaction: number) {
  const ids: string[] = [];
  for (let t = 0; t < transactions; t++) {
    const batch = Array.from({ length: perTransaction }, (_, i) =>
      interaction(USERS[(t + i * 2) % USERS.length]!),
    );
    await appendInteractionEvents(database, batch);
    ids.push(...batch.map((e) => e.event_id));
  }
  return ids;
}

/**
 * Two transactions writing one user's events that overlap in time: the first takes its transaction id, the second
 * commits, then the first commits. Reckon's log order is (transaction id, position), so the first comes first;
 * the write-ahead log has them in commit order. Returns [first, second] event ids.
 */
async function writeOverlapping(url: string, user: string): Promise<[string, string]> {
  const first = new pg.Client({ connectionString: url });
  await first.connect();
  try {
    await first.query("BEGIN");
    await first.query("SELECT pg_current_xact_id()");
    const second = openDatabase(url, { maxConnections: 1 });
    const late = interaction(user);
    await appendInteractionEvents(second, [late]);
    await second.close();
    const early = interaction(user);
    await first.query(
      `INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
       VALUES ($1, 'interaction', $2, $3, $4, $5, $6::jsonb)`,
      [early.event_id, early.type, early.user_id, early.item_id, early.timestamp, JSON.stringify(early)],
    );
    await first.query("COMMIT");
    return [early.event_id, late.event_id];
  } finally {
    await first.end();
  }
}

/** An experiment log entry as analytics/experiments writes them (kind "experiment", keyed by experiment). */
async function writeExperimentEntry(database: Database): Promise<string> {
  const entry = {
    event_id: randomUUID(),
    type: "experiment_started",
    timestamp: new Date().toISOString(),
    experiment_key: "exp-1",
    version: 2,
  };
  await database.transaction((tx) => insertEvents(tx, "experiment", [entry]));
  return entry.event_id;
}

interface RawMessage {
  partition: number;
  key: string | null;
  headers: number;
  value: Record<string, unknown>;
}

async function collectRaw(source: Kafka, topic: string) {
  const consumer = source.consumer({ groupId: uniqueName("test-debezium-collector"), maxWaitTimeInMs: 100 });
  const messages: RawMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push({
        partition,
        key: message.key === null ? null : message.key.toString(),
        headers: Object.keys(message.headers ?? {}).length,
        value: JSON.parse(message.value!.toString()) as Record<string, unknown>,
      });
    },
  });
  stopCollectors.push(() => consumer.disconnect());
  return messages;
}

async function waitUntil(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  detail: () => Promise<string>,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${await detail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Debezium's value in Reckon's LogMessage form. The differences are the documented ones: transaction_id (xid8,
 * which Debezium has no converter for) arrives as base64 of its decimal text, received_at with the column's
 * microseconds (Reckon's relay writes milliseconds), and the event as its JSON text (Reckon's relay embeds it).
 */
function asLogMessage(value: Record<string, unknown>): LogMessage {
  assert.deepEqual(Object.keys(value).sort(), ["event", "kind", "position", "received_at", "transaction_id"]);
  return {
    kind: value.kind,
    position: value.position,
    transaction_id: Buffer.from(value.transaction_id as string, "base64").toString("utf8"),
    received_at: new Date(value.received_at as string).toISOString(),
    event: JSON.parse(value.event as string) as unknown,
  } as LogMessage;
}

const eventId = (m: RawMessage) => (m.value.event as { event_id: string }).event_id;
const dbzEventId = (m: RawMessage) => (JSON.parse(m.value.event as string) as { event_id: string }).event_id;

test(
  "Debezium's outbox router over the events table publishes Reckon's relay messages, per user in the same order",
  { timeout: 180_000 },
  async () => {
    postgres = await startPrivatePostgres({
      wal_level: "logical",
      max_replication_slots: "4",
      max_wal_senders: "4",
    });
    const admin = new pg.Client({ connectionString: postgres.url() });
    await admin.connect();
    await admin.query("CREATE DATABASE reckon");
    await admin.end();
    db = openDatabase(postgres.url("reckon"), { maxConnections: 4 });
    await migrate(db);
    workDir = await mkdtemp(path.join(tmpdir(), "reckon-debezium-"));

    // Written before the connector starts: published by its initial snapshot, in log order.
    const ids = await writeInteractions(db, 6, 8);
    await writeItems(
      db,
      [{ item_id: "item-1", categories: ["a"], attributes: { colour: null }, available: true }],
      new Date(),
    );

    await ensureTopics(kafka, [
      { topic: relayTopic, partitions: PARTITIONS },
      { topic: debeziumTopic, partitions: PARTITIONS },
    ]);
    const relayed = await collectRaw(kafka, relayTopic);
    const debeziumed = await collectRaw(kafka, debeziumTopic);
    relay = new Relay({ db, kafka, topic: relayTopic, partitions: PARTITIONS, pollMs: 50 });
    await relay.start();

    const target = new URL(postgres.url("reckon"));
    connect = await startConnectStandalone(
      libs,
      workDir,
      await propertiesWith(WORKER_PROPERTIES, {
        "bootstrap.servers": stackEnv().KAFKA_BROKERS.join(","),
        "offset.storage.file.filename": path.join(workDir, "offsets.dat"),
        listeners: `http://127.0.0.1:${await freePort()}`,
      }),
      await propertiesWith(CONNECTOR_PROPERTIES, {
        name: slot,
        "database.hostname": target.hostname,
        "database.port": target.port,
        "database.user": "postgres",
        "database.password": "unused",
        "database.dbname": "reckon",
        "topic.prefix": slot,
        "slot.name": slot,
        "publication.name": slot,
        "topic.creation.default.partitions": String(PARTITIONS),
        "transforms.outbox.route.topic.replacement": debeziumTopic,
      }),
    );

    // The snapshot holds the log written so far; once it is published and the slot streams, later writes can
    // only come from the write-ahead log.
    const snapshotted = ids.length + 1;
    const detail = async () =>
      `relay: ${relayed.length}, debezium: ${debeziumed.length}\n${await connect!.logTail()}`;
    await waitUntil("the connector's snapshot", () => debeziumed.length >= snapshotted, 120_000, detail);
    await waitUntil(
      "the connector to stream from its slot",
      async () => {
        const { rows } = await db!.query<{ active: boolean }>(
          "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
          [slot],
        );
        return rows[0]?.active === true;
      },
      60_000,
      detail,
    );

    // Written while the connector streams: published from the write-ahead log.
    ids.push(...(await writeInteractions(db, 6, 8)));
    await writeItems(
      db,
      [{ item_id: "item-2", categories: [], attributes: {}, available: false }],
      new Date(),
    );
    ids.push(...(await writeInteractions(db, 4, 5)));
    const overlapping = await writeOverlapping(postgres.url("reckon"), "zed");
    ids.push(...overlapping);
    const experimentEntry = await writeExperimentEntry(db);

    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM events");
    const logSize = rows[0]!.n;
    const catalogEntries = 2;
    assert.equal(logSize, ids.length + catalogEntries + 1);
    // Reckon's relay sends each catalog entry to every partition; Debezium sends every log entry once.
    await waitUntil(
      "both topics to hold the whole log",
      () => relayed.length >= ids.length + catalogEntries * PARTITIONS + 1 && debeziumed.length >= logSize,
      150_000,
      detail,
    );
    await new Promise((r) => setTimeout(r, 1000)); // nothing more may arrive: duplicates would show now
    assert.equal(relayed.length, ids.length + catalogEntries * PARTITIONS + 1, "relay message count");
    assert.equal(debeziumed.length, logSize, "debezium message count");

    const relayById = new Map(
      relayed.filter((m) => m.value.kind === "interaction").map((m) => [eventId(m), m]),
    );
    for (const message of debeziumed) {
      assert.equal(message.headers, 0, "Debezium's records carry no headers, as Reckon's");
      const translated = asLogMessage(message.value);
      if (translated.kind === "catalog") {
        // Documented difference: no key (user_id is null for catalog rows; Reckon's relay keys "item:<id>").
        assert.equal(message.key, null);
        const copies = relayed.filter((m) => eventId(m) === translated.event.event_id);
        assert.deepEqual(copies.map((m) => m.partition).sort(), [0, 1, 2]);
        for (const copy of copies) assert.deepEqual(translated, copy.value);
        continue;
      }
      if (translated.kind === "experiment") {
        // Documented difference: no key (Reckon's relay keys "experiment:<key>").
        assert.equal(translated.event.event_id, experimentEntry);
        assert.equal(message.key, null);
        const mine = relayed.filter((m) => eventId(m) === experimentEntry);
        assert.deepEqual(
          mine.map((m) => m.key),
          ["experiment:exp-1"],
        );
        assert.deepEqual(translated, mine[0]!.value);
        continue;
      }
      const mine = relayById.get(translated.event.event_id);
      assert.ok(mine, `event ${translated.event.event_id} published by Debezium only`);
      assert.deepEqual(translated, mine.value);
      assert.equal(message.key, mine.key);
      assert.equal(message.partition, mine.partition, `partition of ${mine.key}`);
    }

    // Per user, the same events in the same order (Kafka keeps order per partition, hence per key).
    for (const user of USERS) {
      const relayOrder = relayed.filter((m) => m.key === user).map(eventId);
      const debeziumOrder = debeziumed.filter((m) => m.key === user).map(dbzEventId);
      assert.ok(relayOrder.length > 10, `user ${user} has events`);
      assert.deepEqual(debeziumOrder, relayOrder, `order of ${user}'s events`);
      const written = ids.filter((id) => relayById.get(id)?.key === user);
      assert.deepEqual(relayOrder, written, `${user}'s events in the order they were written`);
    }
    // Documented difference: transactions that overlap in time reach Debezium in commit order.
    assert.deepEqual(
      relayed.filter((m) => m.key === "zed").map(eventId),
      overlapping,
      "Reckon's relay: transaction id order",
    );
    assert.deepEqual(
      debeziumed.filter((m) => m.key === "zed").map(dbzEventId),
      [...overlapping].reverse(),
      "Debezium: commit order",
    );
  },
);
