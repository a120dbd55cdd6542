// Erasure across every store on the real stack (Postgres, Redis, Kafka; ClickHouse is chdb in a temporary
// directory): the user is gone from the log, the read models, ClickHouse and the per-user experiment totals, a
// rebuild of every projection from the log does not bring them back, nor does the training set of the next
// model, nor a projector reading the user's events still on the topic. Other users stay untouched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogBatch } from "../../core/event-store/log-reader.ts";
import { LOG_START } from "../../core/contracts/position.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { createKafka } from "../../core/kafka/kafka.ts";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { FIXTURE_EXPERIMENT, fixtureEvents } from "../../analytics/queries/testing.ts";
import { readReplay } from "../../serving/models/train.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { Relay } from "../../ingest/relay/relay.ts";
import { openProjectionStore } from "../store/open.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { replayProjection } from "../runtime/replay.ts";
import { ProjectorRuntime } from "../runtime/consumer.ts";
import { createAnalyticsProjection } from "../analytics/projection.ts";
import { replayAnalytics } from "../analytics/replay.ts";
import { ANALYTICS_DATABASE, migrateAnalyticsSchema } from "../analytics/migrate.ts";
import type { RunningExperimentsSource } from "../analytics/experiment-totals.ts";
import { eraseReadModels, eraseUsers, type ErasureStores } from "./erase-users.ts";
import { ErasedUsers, usersOf } from "./erased-users.ts";
import { FeaturesReader } from "../features/read.ts";
import { retractEvents } from "../../ingest/retraction/retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "../../ingest/retraction/request.ts";

const env = stackEnv();
const PARTITIONS = 1;
const running: RunningExperimentsSource = {
  running: async () => [{ key: FIXTURE_EXPERIMENT.key, version: 1, definition: FIXTURE_EXPERIMENT }],
};

/** A view of item-1 by `user`, now. */
const view = (user: string): InteractionEvent => ({
  event_id: randomUUID(),
  type: "view",
  user_id: user,
  item_id: "item-1",
  timestamp: new Date().toISOString(),
});

/** The erasure's stores for a deployment without ClickHouse. */
const storesWithoutClickHouse = (t: TestDatabase, store: ProjectionStore, prefix: string): ErasureStores => ({
  db: t.db,
  projectionStore: async () => store,
  prefix,
  analyticsDatabase: ANALYTICS_DATABASE,
});

/** Every ClickHouse row of `user` in the analytics tables that hold users, by table. */
async function clickHouseRowsOf(ch: ClickHouseStore, user: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ["events", "first_exposures", "experiment_user_totals", "user_events"]) {
    const [row] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ANALYTICS_DATABASE}.${table} WHERE user_id = {u:String}`,
      { u: user },
    );
    out[table] = Number(row!.n);
  }
  return out;
}

async function logUsers(t: TestDatabase): Promise<Set<string>> {
  const users = new Set<string>();
  for (const m of await readLogBatch(t.db, LOG_START, 100_000))
    if (m.kind === "interaction") users.add(m.event.user_id);
  return users;
}

describe("erasure across every store, then a rebuild of every projection", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "reckon-erasure-"));
  let t: TestDatabase;
  let ch: ClickHouseStore;
  let store: ProjectionStore;
  const prefix = uniqueName("rkerase");
  let stores: ErasureStores;
  const projections = () => [
    createFeaturesProjection(store, { prefix }),
    createRecommendationsProjection(store, { prefix }),
  ];

  before(async () => {
    t = await createTestDatabase();
    ch = await openClickHouse(`chdb://${dir}`);
    await migrateAnalyticsSchema(ch);
    store = await openProjectionStore(env.REDIS_URL);
    stores = {
      db: t.db,
      projectionStore: async () => store,
      prefix,
      clickhouse: async () => ch,
      analyticsDatabase: ANALYTICS_DATABASE,
    };
    await writeItems(
      t.db,
      ["item-1", "item-2", "item-3"].map((item_id) => ({
        item_id,
        categories: ["books"],
        attributes: {},
        available: true,
      })),
      new Date(),
    );
    // The fixture's users, with items so the recommendations projection records histories.
    for (const batch of fixtureEvents())
      await appendInteractionEvents(
        t.db,
        batch.map((e, i) => ({ ...e, item_id: e.item_id ?? `item-${(i % 3) + 1}` })),
      );
    // The live read models, as the projectors built them from the log.
    for (const projection of projections())
      await replayProjection({ db: t.db, projection, topic: "live", partitions: PARTITIONS });
    const analytics = createAnalyticsProjection({ clickhouse: ch, experiments: running });
    const messages = await readLogBatch(t.db, LOG_START, 100_000);
    await analytics.apply({
      topic: "live",
      partition: 0,
      messages: messages.map((message, i) => ({ offset: String(i), message })),
    });
  });

  after(async () => {
    await store.deleteByPrefix(`${prefix}:`);
    await store.close();
    await ch.close();
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the user is in every store before, absent from every store after, and other users stay", async () => {
    assert.ok((await logUsers(t)).has("u1"));
    assert.ok((await store.keysByPrefix(`${prefix}:`)).some((k) => k.includes("{u:u1}")));
    const before = await clickHouseRowsOf(ch, "u1");
    assert.ok(
      before.events! > 0 && before.first_exposures! > 0 && before.experiment_user_totals! > 0,
      JSON.stringify(before),
    );
    const u4KeysBefore = (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:u4}"));

    const receipt = await eraseUsers(stores, ["u1"], new Date("2026-01-01T00:00:00Z"));
    const u1 = receipt.users[0]!;
    assert.equal(u1.user_id, "u1");
    assert.equal(u1.postgres_events, 10, "the fixture's ten u1 events");
    assert.ok(u1.projection_store_keys >= 4, `features and history keys: ${u1.projection_store_keys}`);
    assert.deepEqual(u1.clickhouse_rows, {
      events: before.events,
      first_exposures: before.first_exposures,
      experiment_user_totals: before.experiment_user_totals,
      user_events: before.user_events,
    });
    assert.equal(receipt.kafka, "suppressed");

    assert.ok(!(await logUsers(t)).has("u1"));
    assert.deepEqual(
      (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:u1}")),
      [],
    );
    assert.deepEqual(await clickHouseRowsOf(ch, "u1"), {
      events: 0,
      first_exposures: 0,
      experiment_user_totals: 0,
      user_events: 0,
    });
    assert.ok(!(await readReplay(t.db)).some((e) => e.user === "u1"), "the next model's training set");
    // Untouched: another user's events, keys and rows.
    assert.ok((await logUsers(t)).has("u4"));
    assert.deepEqual(
      (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:u4}")),
      u4KeysBefore,
    );
    assert.ok((await clickHouseRowsOf(ch, "u4")).events! > 0);
  });

  test("erasing again is idempotent: nothing left, zero counts", async () => {
    const again = await eraseUsers(stores, ["u1", "u1"], new Date());
    assert.deepEqual(again.users, [
      { user_id: "u1", postgres_events: 0, projection_store_keys: 0, clickhouse_rows: {} },
    ]);
    const { rows } = await t.db.query<{ erasures: number }>(
      "SELECT erasures FROM user_erasures WHERE user_id = 'u1'",
    );
    assert.deepEqual(rows, [{ erasures: 2 }]);
  });

  test("a rebuild of every projection from the log (reckon replay) does not bring the user back", async () => {
    // A rebuild switches once the log reaches what the live version applied; u1's events were the newest, so
    // it waits for the next event, as live traffic brings.
    await appendInteractionEvents(t.db, [
      {
        event_id: randomUUID(),
        type: "view",
        user_id: "u9",
        item_id: "item-1",
        timestamp: new Date().toISOString(),
      },
    ]);
    for (const projection of projections()) {
      const result = await replayProjection({ db: t.db, projection, topic: "live", partitions: PARTITIONS });
      assert.ok(result.events > 0);
    }
    const keys = await store.keysByPrefix(`${prefix}:`);
    assert.deepEqual(
      keys.filter((k) => k.includes("{u:u1}")),
      [],
    );
    assert.ok(
      keys.some((k) => k.includes(":f:v3:{u:u4}")),
      "features rebuilt with the other users",
    );
    assert.ok(
      keys.some((k) => k.includes(":r:v3:{u:u4}")),
      "recommendations rebuilt with the other users",
    );
    const rebuilt = await replayAnalytics({
      db: t.db,
      clickhouse: ch,
      topic: "live",
      partitions: PARTITIONS,
    });
    assert.ok(rebuilt.events > 0);
    assert.deepEqual(await clickHouseRowsOf(ch, "u1"), {
      events: 0,
      first_exposures: 0,
      experiment_user_totals: 0,
      user_events: 0,
    });
    assert.ok((await clickHouseRowsOf(ch, "u4")).events! > 0);
    // The per-user totals the live projection recomputes after a rebuild hold no u1 either.
    const analytics = createAnalyticsProjection({ clickhouse: ch, experiments: running });
    const messages = await readLogBatch(t.db, LOG_START, 100_000);
    await analytics.apply({
      topic: "live",
      partition: 0,
      messages: messages.map((message, i) => ({ offset: String(1000 + i), message })),
    });
    assert.equal((await clickHouseRowsOf(ch, "u1")).experiment_user_totals, 0);
    assert.ok((await clickHouseRowsOf(ch, "u4")).experiment_user_totals! > 0);
  });

  test("bulk: several users in one erasure, each with its own counts", async () => {
    const receipt = await eraseUsers(stores, ["u2", "u3", "nobody"], new Date());
    assert.deepEqual(
      receipt.users.map((u) => [u.user_id, u.postgres_events]),
      [
        ["u2", 1],
        ["u3", 4],
        ["nobody", 0],
      ],
    );
    assert.deepEqual(receipt.users[2]!.clickhouse_rows, {});
    const users = await logUsers(t);
    assert.ok(!users.has("u2") && !users.has("u3") && users.has("u4"));
  });
});

describe("a projector reading the user's events still on the Kafka topic", () => {
  const kafka = createKafka(env.KAFKA_BROKERS, "erasure-test");
  const topic = uniqueName("test.events");
  const prefix = uniqueName("rkerasek");
  let t: TestDatabase;
  let store: ProjectionStore;

  before(async () => {
    t = await createTestDatabase();
    store = await openProjectionStore(env.REDIS_URL);
  });
  after(async () => {
    await store.deleteByPrefix(`${prefix}:`);
    await store.close();
    await t.drop();
  });

  test("skips them, keeps what the user sends after the erasure, and re-deletes keys it applied late", async () => {
    await appendInteractionEvents(t.db, [view("ua"), view("ua"), view("ub")]);
    // Published before the erasure: the copies on the topic outlive the rows.
    const relay = new Relay({ db: t.db, kafka, topic, partitions: PARTITIONS, name: `relay:${topic}` });
    await relay.start();
    await waitFor(
      async () => (await t.db.query("SELECT 1 FROM checkpoints WHERE position >= 3")).rows.length > 0,
    );
    await relay.stop();

    const stores = storesWithoutClickHouse(t, store, prefix);
    const receipt = await eraseUsers(stores, ["ua"], new Date());
    assert.equal(receipt.users[0]!.postgres_events, 2);
    assert.equal(receipt.users[0]!.clickhouse_rows, null);
    // After the erasure: ua comes back with new data, and a marker tells when the projector has read it all.
    await appendInteractionEvents(t.db, [view("ua"), view("marker")]);

    const erased = new ErasedUsers(t.db, { onErased: (ids) => eraseReadModels(stores, ids) });
    await erased.start();
    const runtime = new ProjectorRuntime({
      kafka,
      topic,
      dlqTopic: `${topic}.dlq`,
      partitions: PARTITIONS,
      groupPrefix: `${uniqueName("test.projector")}.`,
      projections: [createFeaturesProjection(store, { prefix })],
      skip: erased.skips,
    });
    await runtime.start();
    const relayAgain = new Relay({ db: t.db, kafka, topic, partitions: PARTITIONS, name: `relay:${topic}` });
    await relayAgain.start();
    try {
      const profile = (user: string) => store.hgetall(`${prefix}:f:v1:{u:${user}}:p`);
      await waitFor(async () => Object.keys(await profile("marker")).length > 0);
      assert.equal((await profile("ub"))["n:view"], "1");
      assert.equal((await profile("ua"))["n:view"], "1", "only the view sent after the erasure");

      // A user erased while the projector runs: keys it applied before it learnt of the erasure are deleted.
      const ubKeys = (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:ub}"));
      assert.ok(ubKeys.length > 0);
      await t.db.query("INSERT INTO user_erasures (user_id, before_xid) VALUES ('ub', pg_current_xact_id())");
      await erased.refresh();
      await erased.refresh();
      // Learning of it deletes read models only: re-running the whole erasure would renew the record, notify,
      // and be learnt of again, without end.
      const { rows } = await t.db.query("SELECT erasures FROM user_erasures WHERE user_id = 'ub'");
      assert.deepEqual(rows, [{ erasures: 1 }]);
      assert.deepEqual(
        (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:ub}")),
        [],
      );
    } finally {
      await relayAgain.stop();
      await runtime.stop();
      await erased.stop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("erasing a user whose events were retracted", () => {
  const prefix = uniqueName("rkeraser");
  let t: TestDatabase;
  let store: ProjectionStore;

  before(async () => {
    t = await createTestDatabase();
    store = await openProjectionStore(env.REDIS_URL);
  });
  after(async () => {
    await store.deleteByPrefix(`${prefix}:`);
    await store.close();
    await t.drop();
  });

  test("the retractions, which carry a copy of the user's events, go too; projectors skip them; a rebuild holds no trace", async () => {
    const views = [view("ra"), view("ra"), view("rb")];
    await appendInteractionEvents(t.db, views);
    const parsed = parseRetractionRequest({ event_ids: [views[0]!.event_id] });
    assert.ok(parsed.ok, JSON.stringify(parsed));
    await retractEvents(t.db, parsed.request as RetractionRequest, { actor: "test" });
    const logged = await readLogBatch(t.db, LOG_START, 1000);
    const retraction = logged.find((m) => m.kind === "retraction");
    assert.equal(retraction?.kind === "retraction" && retraction.event.original.user_id, "ra");
    const otherUsers = logged.find((m) => m.kind === "interaction" && m.event.user_id === "rb")!;

    const stores = storesWithoutClickHouse(t, store, prefix);
    const receipt = await eraseUsers(stores, ["ra"], new Date());
    assert.equal(receipt.users[0]!.postgres_events, 3, "two views and the retraction of one");
    const { rows } = await t.db.query("SELECT kind FROM events WHERE user_id = 'ra'");
    assert.deepEqual(rows, [], "no log entry of any kind names the user");

    // A copy of the retraction still on the topic is skipped like the interactions.
    const erased = new ErasedUsers(t.db);
    await erased.start();
    try {
      assert.equal(erased.skips(retraction!), true);
      assert.equal(erased.skips(otherUsers), false);
    } finally {
      await erased.stop();
    }

    // A rebuild from the log: nothing of the user, and no undo of their retraction taken from the others' counts.
    await replayProjection({
      db: t.db,
      projection: createFeaturesProjection(store, { prefix }),
      topic: "live",
      partitions: PARTITIONS,
    });
    assert.deepEqual(
      (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:ra}")),
      [],
    );
    const popularity = await new FeaturesReader(store, prefix).getItemPopularity("item-1");
    assert.deepEqual(popularity.counts, { view: 1 }, "rb's view only");
  });
});

describe("an erasure learnt while a projector applies the user's events", () => {
  const kafka = createKafka(env.KAFKA_BROKERS, "erasure-race-test");
  const topic = uniqueName("test.events");
  const prefix = uniqueName("rkerasr");
  let t: TestDatabase;
  let store: ProjectionStore;

  before(async () => {
    t = await createTestDatabase();
    store = await openProjectionStore(env.REDIS_URL);
  });
  after(async () => {
    await store.deleteByPrefix(`${prefix}:`);
    await store.close();
    await t.drop();
  });

  test("the keys the batch wrote after the erasure's deletions are erased once more", async () => {
    await appendInteractionEvents(t.db, [view("uc"), view("ud")]);
    const stores = storesWithoutClickHouse(t, store, prefix);
    const erased = new ErasedUsers(t.db, { onErased: (ids) => eraseReadModels(stores, ids) });
    await erased.start();
    // The race, made certain: the batch passed the skip check, then the erasure lands (its deletions find
    // nothing yet), then the batch's writes land.
    const features = createFeaturesProjection(store, { prefix });
    let erasedMidApply = false;
    const racing = new Proxy(features, {
      get(target, prop, receiver) {
        if (prop === "apply")
          return async (batch: Parameters<typeof features.apply>[0]) => {
            if (!erasedMidApply) {
              erasedMidApply = true;
              await t.db.query(
                "INSERT INTO user_erasures (user_id, before_xid) VALUES ('uc', pg_current_xact_id())",
              );
              await erased.refresh();
            }
            return target.apply(batch);
          };
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const runtime = new ProjectorRuntime({
      kafka,
      topic,
      dlqTopic: `${topic}.dlq`,
      partitions: PARTITIONS,
      groupPrefix: `${uniqueName("test.projector")}.`,
      projections: [racing],
      skip: erased.skips,
      onSkippedAfterApply: (messages) => eraseReadModels(stores, usersOf(messages)),
    });
    await runtime.start();
    const relay = new Relay({ db: t.db, kafka, topic, partitions: PARTITIONS, name: `relay:${topic}` });
    await relay.start();
    try {
      const profile = (user: string) => store.hgetall(`${prefix}:f:v1:{u:${user}}:p`);
      const ucKeys = async () => (await store.keysByPrefix(`${prefix}:`)).filter((k) => k.includes("{u:uc}"));
      // The batch is applied (ud's profile), then its late-erased users are erased again before its commit.
      await waitFor(async () => Object.keys(await profile("ud")).length > 0, 30_000);
      await waitFor(async () => (await ucKeys()).length === 0, 10_000).catch(() => undefined);
      assert.ok(erasedMidApply);
      assert.deepEqual(await ucKeys(), []);
    } finally {
      await relay.stop();
      await runtime.stop();
      await erased.stop();
    }
  });
});
