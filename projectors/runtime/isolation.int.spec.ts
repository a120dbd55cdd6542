// A message the store rejects is dead-lettered and the partition moves on; a store outage is waited out and
// dead-letters nothing. Real Kafka, real Postgres log and relay, real Redis (reached through a TCP proxy this
// test owns, so it can take the store away and bring it back).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { Kafka } from "kafkajs";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { createKafka, ensureTopics } from "../../core/kafka/kafka.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { Relay } from "../../ingest/relay/relay.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import { ProjectorRuntime } from "./consumer.ts";
import { deleteKeys } from "./replay.ts";
import { projectorIsolations, projectorRejected, projectorStoreUnhealthy } from "./metrics.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "./projection.ts";

const env = stackEnv();
const kafka = createKafka(env.KAFKA_BROKERS, "projectors-isolation-test");
const redis = new Redis(env.REDIS_URL);
const topic = uniqueName("test.events");
const dlqTopic = uniqueName("test.dlq");
const PARTITIONS = 3;
const prefix = uniqueName("rkiso");
let t: TestDatabase;
let relay: Relay;
const runtimes: ProjectorRuntime[] = [];

/**
 * Indexes events by item: HSET `<ns>:item:<item>` event → position, then `<ns>:applied` event → position. A key
 * that already holds another type makes Redis refuse the HSET (WRONGTYPE), permanently, for that item only.
 */
const INDEX = `
for i = 1, #ARGV, 3 do
  redis.call('HSET', KEYS[1] .. ':item:' .. ARGV[i + 1], ARGV[i], ARGV[i + 2])
  redis.call('HSET', KEYS[1] .. ':applied', ARGV[i], ARGV[i + 2])
end
return 1
`;

function itemIndexProjection(name: string, client: Redis, ns: string): Projection {
  return {
    name,
    async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
      const args = batch.messages.flatMap(({ message }): string[] => [
        message.event.event_id,
        String(("item_id" in message.event ? message.event.item_id : undefined) ?? ""),
        String(message.position),
      ]);
      await client.eval(INDEX, 1, ns, ...args);
      return batch.messages.map(() => ({ kind: "ok" }));
    },
    async healthy() {
      return (await client.ping()) === "PONG";
    },
    async appliedPosition(): Promise<LogPosition | undefined> {
      return undefined;
    },
  };
}

async function startRuntime(projection: Projection): Promise<void> {
  const runtime = new ProjectorRuntime({
    kafka,
    topic,
    dlqTopic,
    partitions: PARTITIONS,
    projections: [projection],
    groupPrefix: `${uniqueName("test.projector")}.`,
  });
  await runtime.start();
  runtimes.push(runtime);
}

/** A TCP proxy in front of Redis: `stop()` refuses connections and cuts open ones, `start()` serves again. */
class Proxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => undefined);
        s.on("close", () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise((r) => server.close(r));
  }
}

/** Every dead letter on the topic so far (reads up to the high-water marks taken when called). */
async function deadLetters(k: Kafka): Promise<{ value: string; headers: Record<string, string> }[]> {
  const admin = k.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(dlqTopic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((e) => e.high !== "0").map((e) => [e.partition, e.high]));
  const seen: { value: string; headers: Record<string, string> }[] = [];
  if (remaining.size === 0) return seen;
  const consumer = k.consumer({ groupId: uniqueName("test-dlq-reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      seen.push({
        value: String(message.value),
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([h, v]) => [h, String(v)])),
      });
      if (BigInt(message.offset) + 1n >= BigInt(remaining.get(partition) ?? "0")) remaining.delete(partition);
      if (remaining.size === 0) done();
    },
  });
  await finished;
  await consumer.disconnect();
  return seen;
}

const event = (user: string, item: string): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: user,
  item_id: item,
  timestamp: new Date().toISOString(),
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const metric = async (counter: typeof projectorRejected, projector: string) =>
  (await counter.get()).values.find((v) => v.labels.projector === projector)?.value ?? 0;

before(async () => {
  t = await createTestDatabase();
  await ensureTopics(kafka, [
    { topic, partitions: PARTITIONS },
    { topic: dlqTopic, partitions: PARTITIONS },
  ]);
  relay = new Relay({ db: t.db, kafka, topic, partitions: PARTITIONS, name: `relay:${topic}` });
  await relay.start();
});

after(async () => {
  for (const r of runtimes) await r.stop();
  await relay.stop();
  await deleteKeys(redis, `${prefix}:*`);
  redis.disconnect();
  await t.drop();
});

describe("projector runtime: rejected messages and outages", () => {
  test("a message the store rejects is dead-lettered with its reason; the messages around it are applied", async () => {
    const ns = `${prefix}:rej`;
    // The store holds a string where the projection writes a hash: every write for item "bad" fails.
    await redis.set(`${ns}:item:bad`, "not a hash");
    await startRuntime(itemIndexProjection("item-index", redis, ns));
    // One transaction, one user: consecutive messages of one partition.
    const batch = ["i1", "i2", "bad", "i3", "i4"].map((item) => event("iso-user", item));
    await appendInteractionEvents(t.db, batch);
    const good = batch.filter((e) => e.item_id !== "bad").map((e) => e.event_id);
    await waitFor("the good messages", async () => (await redis.hlen(`${ns}:applied`)) === 4);

    // The consumer keeps going after the rejected message.
    const later = event("iso-user", "i5");
    await appendInteractionEvents(t.db, [later]);
    await waitFor(
      "the later message",
      async () => (await redis.hexists(`${ns}:applied`, later.event_id)) === 1,
    );

    assert.deepEqual(
      Object.keys(await redis.hgetall(`${ns}:applied`)).sort(),
      [...good, later.event_id].sort(),
    );
    assert.deepEqual(Object.keys(await redis.hgetall(`${ns}:item:i3`)), [batch[3]!.event_id]);
    assert.equal(await redis.get(`${ns}:item:bad`), "not a hash");

    const dead = (await deadLetters(kafka)).filter((d) => d.headers["reckon-dlq-projector"] === "item-index");
    assert.equal(dead.length, 1);
    assert.equal(JSON.parse(dead[0]!.value).event.event_id, batch[2]!.event_id);
    assert.match(
      dead[0]!.headers["reckon-dlq-reason"]!,
      /^rejected by the store while it was healthy \(3 attempts\): WRONGTYPE/,
    );
    assert.equal(dead[0]!.headers["reckon-dlq-source-topic"], topic);
    assert.equal(await metric(projectorRejected, "item-index"), 1);
    assert.equal(await metric(projectorStoreUnhealthy, "item-index"), 0);
  });

  test("a store outage dead-letters nothing and everything is applied once the store is back", async () => {
    const ns = `${prefix}:outage`;
    const target = new URL(env.REDIS_URL);
    const proxy = new Proxy({ host: target.hostname, port: Number(target.port || 6379) });
    await proxy.start();
    // Commands fail fast while the store is away instead of queueing (what the health check and apply see).
    const client = new Redis({ host: "127.0.0.1", port: proxy.port, maxRetriesPerRequest: 1 });
    client.on("error", () => undefined);
    try {
      await startRuntime(itemIndexProjection("item-index-outage", client, ns));
      const first = event("outage-user", "i1");
      await appendInteractionEvents(t.db, [first]);
      // A new group reads the topic from its beginning: the first test's messages come first.
      const applied = async (e: InteractionEvent) => (await redis.hexists(`${ns}:applied`, e.event_id)) === 1;
      await waitFor("the first message", () => applied(first));
      const before = await redis.hlen(`${ns}:applied`);

      await proxy.stop();
      const during = ["i2", "i3", "i4", "i5"].map((item) => event("outage-user", item));
      await appendInteractionEvents(t.db, during.slice(0, 2));
      await appendInteractionEvents(t.db, during.slice(2));
      // Wait until the runtime has asked the store twice and found it down (it would isolate if it were up).
      await waitFor(
        "the health check to find the store down",
        async () => (await metric(projectorStoreUnhealthy, "item-index-outage")) >= 2,
      );
      assert.equal(await redis.hlen(`${ns}:applied`), before);
      await proxy.start();

      await waitFor(
        "every message after the outage",
        async () => (await redis.hlen(`${ns}:applied`)) === before + 4,
      );
      for (const e of [first, ...during]) assert.ok(await applied(e));
      const dead = (await deadLetters(kafka)).filter(
        (d) => d.headers["reckon-dlq-projector"] === "item-index-outage",
      );
      assert.deepEqual(dead, []);
      assert.equal(await metric(projectorRejected, "item-index-outage"), 0);
      assert.equal(await metric(projectorIsolations, "item-index-outage"), 0);
    } finally {
      for (const r of runtimes.splice(0)) await r.stop();
      client.disconnect();
      await proxy.stop();
    }
  });
});
