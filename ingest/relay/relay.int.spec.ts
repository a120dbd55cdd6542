import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import pg from "pg";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { collectTopic } from "../../core/testing/kafka.ts";
import { createKafka, ensureTopics } from "../../core/kafka/kafka.ts";
import { REPO_ROOT } from "../../core/runtime/local-env.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { compareLogPositions } from "../../core/contracts/position.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import { Relay } from "./relay.ts";

const kafka = createKafka(stackEnv().KAFKA_BROKERS, "relay-test");
// Each test gets its own database: a relay starting from the log's beginning must see only that test's events.
let t: TestDatabase;
beforeEach(async () => {
  t = await createTestDatabase();
});
afterEach(async () => {
  await t.drop();
});

const event = (user: string, i: number): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: user,
  item_id: `i${i}`,
  timestamp: new Date().toISOString(),
});

async function freshTopic() {
  const topic = uniqueName("test.events");
  await ensureTopics(kafka, [{ topic, partitions: 3 }]);
  return topic;
}

/**
 * Per key (user), messages must arrive in log order: that is what Kafka's per-partition order gives consumers.
 * A batch re-sent after a crash repeats messages already delivered, which necessarily come after later ones;
 * consumers skip them by position, so the order that matters is that of first deliveries.
 */
function assertLogOrderPerKey(
  messages: {
    key: string;
    message: { transaction_id: string; position: number; event: { event_id: string } };
  }[],
) {
  const last = new Map<string, { transaction_id: string; position: number }>();
  const delivered = new Set<string>();
  for (const m of messages) {
    if (delivered.has(m.message.event.event_id)) continue; // a re-send, skipped by consumers
    delivered.add(m.message.event.event_id);
    const prev = last.get(m.key);
    if (prev)
      assert.ok(
        compareLogPositions(toLogPosition(prev), toLogPosition(m.message)) <= 0,
        `order for ${m.key}`,
      );
    last.set(m.key, m.message);
  }
}

describe("relay: Postgres log → Kafka", () => {
  test("interleaved transactions committed out of order all reach Kafka, in log order", async () => {
    const topic = await freshTopic();
    const relay = new Relay({ db: t.db, kafka, topic, partitions: 3, name: `relay:${topic}` });
    const collector = await collectTopic(kafka, topic);
    const slow = new pg.Client({ connectionString: t.url });
    const fast = new pg.Client({ connectionString: t.url });
    await slow.connect();
    await fast.connect();
    try {
      const insert = (c: pg.Client, id: string) =>
        c.query(
          `INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
           VALUES ($1::uuid, 'interaction', 'view', 'u', 'i', now(), jsonb_build_object('event_id', $2::text,
             'type', 'view', 'user_id', 'u', 'item_id', 'i', 'timestamp', now()))`,
          [id, id],
        );
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      // The slow transaction takes the lower position first, the fast one commits before it.
      await slow.query("BEGIN");
      await insert(slow, a);
      await fast.query("BEGIN");
      await insert(fast, b);
      await fast.query("COMMIT");
      // While `slow` is open the relay must not move past it: nothing at or after its transaction is readable.
      assert.equal(await relay.publishOnce(), 0);
      await slow.query("COMMIT");
      await appendInteractionEvents(t.db, [{ ...event("u", 9), event_id: c }]);
      let published = 0;
      for (let i = 0; i < 10 && published < 3; i++) published += await relay.publishOnce();
      assert.equal(published, 3);
      await collector.waitFor([a, b, c]);
      assert.deepEqual(
        collector.messages.map((m) => m.message.event.event_id),
        [a, b, c],
      );
      assertLogOrderPerKey(collector.messages);
    } finally {
      await slow.end();
      await fast.end();
      await collector.stop();
      await relay.stop();
    }
  });

  test("Kafka stopped and restarted mid-stream loses nothing; ingest keeps accepting", async () => {
    const topic = await freshTopic();
    const relay = new Relay({ db: t.db, kafka, topic, partitions: 3, name: `relay:${topic}` });
    await relay.start();
    const ids: string[] = [];
    const write = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const batch = Array.from({ length: 20 }, (_, j) => event(`user-${j % 7}`, i));
        await appendInteractionEvents(t.db, batch);
        ids.push(...batch.map((e) => e.event_id));
      }
    };
    try {
      await write(10);
      stack("stop", "kafka");
      await write(10); // Kafka is down: these are acknowledged by Postgres all the same.
      stack("start", "kafka");
      await write(10);
      const collector = await collectTopic(kafka, topic);
      try {
        await collector.waitFor(ids, 120_000);
        const received = collector.messages.map((m) => m.message.event.event_id);
        assert.deepEqual(new Set(received), new Set(ids));
        assertLogOrderPerKey(collector.messages);
      } finally {
        await collector.stop();
      }
    } finally {
      await relay.stop();
    }
  });

  test("a relay killed with SIGKILL mid-stream and restarted loses nothing", async () => {
    const topic = await freshTopic();
    const env = {
      ...process.env,
      DATABASE_URL: t.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
      KAFKA_EVENTS_TOPIC: topic,
      RECKON_WRITE_KEYS: "unused-in-this-test-0000",
      LOG_LEVEL: "warn",
    };
    const startRelay = () =>
      spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "relay"], {
        env,
        stdio: "ignore",
      });
    const ids: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const batch = Array.from({ length: 50 }, (_, j) => event(`user-${j % 11}`, i));
        await appendInteractionEvents(t.db, batch);
        ids.push(...batch.map((e) => e.event_id));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    let child: ChildProcess = startRelay();
    await waitUntil(async () => (await publishedCount(t, topic)) > 200);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const atKill = await publishedCount(t, topic);
    child = startRelay();
    await new Promise((r) => setTimeout(r, 1500));
    writing = false;
    await writer;
    const collector = await collectTopic(kafka, topic);
    try {
      await collector.waitFor(ids, 120_000);
      const received = collector.messages.map((m) => m.message.event.event_id);
      assert.deepEqual(new Set(received), new Set(ids));
      const duplicates = received.length - new Set(received).size;
      // Only what was in flight at the kill may be published twice: at most one relay batch.
      assert.ok(duplicates <= 1000, `${duplicates} duplicates`);
      console.log(
        `# relay SIGKILL: ${ids.length} events, checkpoint at kill ${atKill}, duplicates ${duplicates}`,
      );
      assertLogOrderPerKey(collector.messages);
    } finally {
      await collector.stop();
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  });
});

function stack(action: "stop" | "start", service: string) {
  execFileSync("bash", [path.join(REPO_ROOT, "deploy/local-stack/stack.sh"), action, service], {
    stdio: "inherit",
  });
}

async function publishedCount(db: TestDatabase, topic: string): Promise<number> {
  const { rows } = await db.db.query<{ position: number }>(
    "SELECT position FROM checkpoints WHERE name = $1",
    [`relay:${topic}`],
  );
  return rows[0]?.position ?? 0;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}
