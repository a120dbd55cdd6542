// Retraction end to end on the real stores: a mixed batch retracted from a projected log (Postgres, the
// stack's Redis and Redis Cluster and the in-process store, chdb) leaves the same read models as a projection
// of the log that never had those events; retracting again and a dry run change nothing; a rebuild and a
// rebuild stopped at a past position (`reckon replay --to`) equal projections of the log without them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogHead, toLogPosition } from "../../core/event-store/log-reader.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import { writeItems } from "../catalog-store.ts";
import { PROJECTION_STORES, storeForSuite } from "../../projectors/store/testing.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import type { RedisProjection } from "../../projectors/runtime/redis-projection.ts";
import { replayProjection } from "../../projectors/runtime/replay.ts";
import { dumpVersion } from "../../projectors/runtime/testing.ts";
import { APPLIED_KEY } from "../../core/read-models/keys.ts";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { createAnalyticsProjection } from "../../projectors/analytics/projection.ts";
import type { RunningExperimentsSource } from "../../projectors/analytics/experiment-totals.ts";
import type { Projection } from "../../projectors/runtime/projection.ts";
import { FIXTURE_EXPERIMENT, T0, fixtureEvents } from "../../analytics/queries/testing.ts";
import { loadVariantStatisticsWithSource } from "../../analytics/queries/experiment-stats.ts";
import { retractEvents } from "./retract.ts";
import { parseRetractionRequest, type RetractionRequest } from "./request.ts";
import { logWithoutRetracted, readWholeLog, waitVisible } from "../../core/testing/log.ts";

const HOUR = 3_600_000;
/** Reads are evaluated at this time (decayed values), after every event. */
const AT = T0 + 400 * HOUR;
const USERS = ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "bot"];
const ITEMS = ["item-1", "item-2", "item-3", "item-4"];
const CATEGORIES = [undefined, "a", "b", "c", "d"];
const CALLER = { actor: "test-key" };

let sequence = 0;
const eventId = () => `00000000-0000-4000-a000-${(++sequence).toString(16).padStart(12, "0")}`;
const interaction = (user: string, type: string, item: string, hours: number): InteractionEvent => ({
  event_id: eventId(),
  type,
  user_id: user,
  item_id: item,
  timestamp: new Date(T0 + hours * HOUR).toISOString(),
});

/** Item interactions beside the experiment fixture (whose events are all on item-1). */
function extraEvents(): InteractionEvent[] {
  const out: InteractionEvent[] = [];
  const plan: [string, string, string, number][] = [
    ["u1", "view", "item-2", 4],
    ["u1", "click", "item-3", 5],
    ["u2", "view", "item-2", 6],
    ["u2", "click", "item-3", 7],
    ["u2", "add_to_cart", "item-4", 8],
    ["u8", "view", "item-3", 9],
    ["u8", "purchase", "item-2", 12],
    ["u8", "view", "item-4", 50],
  ];
  for (const [user, type, item, hours] of plan) out.push(interaction(user, type, item, hours));
  // A bot hammering two items.
  for (let i = 0; i < 12; i++)
    out.push(interaction("bot", i % 3 === 0 ? "click" : "view", i % 2 ? "item-2" : "item-3", 10 + i));
  return out;
}

async function retract(db: TestDatabase["db"], body: Record<string, unknown>) {
  const parsed = parseRetractionRequest(body);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  const outcome = await retractEvents(db, parsed.request as RetractionRequest, CALLER);
  await waitVisible(db, outcome.position);
  return outcome;
}

/** Appends and waits until log readers see the events. */
async function append(db: TestDatabase["db"], events: InteractionEvent[]): Promise<void> {
  await waitVisible(db, (await appendInteractionEvents(db, events)).head);
}

async function countLog(db: TestDatabase["db"]): Promise<number> {
  const { rows } = await db.query<{ n: string }>("SELECT count(*) AS n FROM events");
  return Number(rows[0]!.n);
}

/** What serving reads from the features model; `full` adds the parts only a rebuild makes exact. */
async function featureReads(reader: FeaturesReader, full: boolean) {
  const users = await Promise.all(
    USERS.map(async (u) => {
      const f = await reader.getUserFeatures(u, AT);
      return full ? f : { user_id: f.user_id, counts: f.counts, affinities: f.affinities };
    }),
  );
  const items = await Promise.all(ITEMS.map((i) => reader.getItemPopularity(i, AT)));
  const trending = await Promise.all(
    CATEGORIES.flatMap((c) => [
      reader.getTrending(c, 50, "short", AT),
      reader.getTrending(c, 50, "long", AT),
    ]),
  );
  return { users, items, trending };
}

async function recommendationReads(reader: RecommendationsReader) {
  return {
    neighbours: await Promise.all(ITEMS.map((i) => reader.getNeighbours(i, 50))),
    histories: await Promise.all(USERS.map((u) => reader.getUserHistory(u, 50))),
  };
}

for (const backend of PROJECTION_STORES) {
  describe(`retraction on ${backend.name}`, () => {
    const suite = storeForSuite(backend);
    let t: TestDatabase;
    let live: { features: RedisProjection; recommendations: RedisProjection; prefix: string };
    let applied: LogPosition = LOG_START;
    const bot: string[] = [];
    const named: string[] = [];

    /** The live consumer: the log's new entries, in log order, as one partition. */
    const catchUp = async () => {
      const batch = await readWholeLog(t.db, applied);
      if (batch.length === 0) return;
      await live.features.applyMessages(batch, "t:0");
      await live.recommendations.applyMessages(batch, "t:0");
      applied = toLogPosition(batch[batch.length - 1]!);
    };

    /** Every key of the features model under `prefix` but the applied positions (their sources differ). */
    const featuresDump = async (prefix: string) => {
      const { [APPLIED_KEY]: _applied, ...rest } = await dumpVersion(await suite.store(), prefix, "f", 1);
      return rest;
    };

    /** A fresh projection of `messages` under its own prefix. */
    const projectionOf = async (messages: readonly LogMessage[]) => {
      const store = await suite.store();
      const prefix = suite.prefix("rk_expected");
      await createFeaturesProjection(store, { prefix }).applyMessages(messages, "log");
      await createRecommendationsProjection(store, { prefix }).applyMessages(messages, "log");
      return {
        prefix,
        features: new FeaturesReader(store, prefix),
        recommendations: new RecommendationsReader(store, prefix),
      };
    };

    before(async () => {
      t = await createTestDatabase();
      const store = await suite.store();
      const prefix = suite.prefix("rk_retract");
      live = {
        features: createFeaturesProjection(store, { prefix, log: t.db }),
        recommendations: createRecommendationsProjection(store, { prefix, log: t.db }),
        prefix,
      };
      const item = (item_id: string, categories: string[]) => ({
        item_id,
        categories,
        attributes: {},
        available: true,
      });
      const items = [
        item("item-1", ["a"]),
        item("item-2", ["a", "b"]),
        item("item-3", ["b"]),
        item("item-4", ["c"]),
      ];
      await waitVisible(t.db, (await writeItems(t.db, items, new Date(T0))).head);
      sequence = 0;
      for (const batch of fixtureEvents()) await append(t.db, batch);
      const extras = extraEvents();
      await append(t.db, extras);
      bot.push(...extras.filter((e) => e.user_id === "bot").map((e) => e.event_id));
      const fixture = fixtureEvents().flat();
      named.push(
        fixture.find((e) => e.user_id === "u4" && e.type === "purchase")!.event_id,
        fixture.find((e) => e.user_id === "u1" && e.type === "exposure")!.event_id,
        extras.find((e) => e.user_id === "u2" && e.item_id === "item-3")!.event_id,
      );
      await catchUp();
    });

    after(async () => {
      await suite.cleanUp();
      await t.drop();
    });

    it("answers a dry run with what would change, and changes nothing", async () => {
      const before = await countLog(t.db);
      const reads = await featureReads(new FeaturesReader(await suite.store(), live.prefix), true);
      const outcome = await retract(t.db, { user_id: "bot", dry_run: true });
      assert.equal(outcome.matched, 12);
      assert.equal(outcome.would_retract, 12);
      assert.equal(outcome.retracted, 0);
      assert.equal(outcome.position, null);
      // 12 bot events: i = 0, 3, 6, 9 are clicks, the rest views; items 2 and 3.
      assert.deepEqual(outcome.effects.features.counts, { click: 4, view: 8 });
      assert.equal(outcome.effects.features.items, 2);
      assert.equal(outcome.effects.analytics.events, 12);
      assert.equal(await countLog(t.db), before);
      await catchUp();
      assert.deepEqual(await featureReads(new FeaturesReader(await suite.store(), live.prefix), true), reads);
      const audit = await t.db.query<{ action: string; actor: string }>(
        "SELECT action, actor FROM audit_log WHERE target = $1",
        [outcome.retraction_id],
      );
      assert.deepEqual(audit.rows, [{ action: "events.retract_dry_run", actor: "test-key" }]);
    });

    it("retracts a mixed batch: the read models equal a projection of the log without it", async () => {
      const r1 = await retract(t.db, { user_id: "bot", reason: "bot traffic" });
      assert.equal(r1.retracted, 12);
      assert.ok(r1.position);
      await catchUp();
      // The undo must use the categories the original was applied with: item-3 moves from b to d first.
      const moved = await writeItems(
        t.db,
        [{ item_id: "item-3", categories: ["d"], attributes: {}, available: true }],
        new Date(T0 + HOUR),
      );
      await waitVisible(t.db, moved.head);
      await catchUp();
      const r2 = await retract(t.db, { event_ids: named });
      assert.equal(r2.retracted, 3);
      const r3 = await retract(t.db, { experiment: "other-test", type: "exposure" });
      assert.equal(r3.retracted, 1);
      await catchUp();
      const retractions = (await readWholeLog(t.db)).filter((m) => m.kind === "retraction");
      assert.equal(retractions.length, 16);
      const u2click = retractions.find((m) => m.kind === "retraction" && m.event.retracts === named[2]);
      assert.deepEqual(u2click?.kind === "retraction" && u2click.event.categories, ["b"]);

      const expected = await projectionOf(await logWithoutRetracted(t.db));
      const store = await suite.store();
      // Recent lists and last activity too (projectors/features/user-activity.ts).
      assert.deepEqual(
        await featureReads(new FeaturesReader(store, live.prefix), true),
        await featureReads(expected.features, true),
      );
      assert.deepEqual(await featuresDump(live.prefix), await featuresDump(expected.prefix));
      // Co-occurrence and histories are undone live too (projectors/recommendations/undo.ts).
      assert.deepEqual(
        await recommendationReads(new RecommendationsReader(store, live.prefix)),
        await recommendationReads(expected.recommendations),
      );
    });

    it("retracting again changes nothing", async () => {
      const before = await countLog(t.db);
      const store = await suite.store();
      const reads = await featureReads(new FeaturesReader(store, live.prefix), true);
      const again = await retract(t.db, { event_ids: [...named, bot[0]!] });
      assert.equal(again.matched, 4);
      assert.equal(again.retracted, 0);
      assert.equal(again.already_retracted, 4);
      assert.equal((await retract(t.db, { user_id: "bot" })).retracted, 0);
      assert.equal(await countLog(t.db), before);
      await catchUp();
      assert.deepEqual(await featureReads(new FeaturesReader(store, live.prefix), true), reads);
    });

    it("a rebuild leaves retracted events out: every read equals the log without them", async () => {
      const store = await suite.store();
      for (const projection of [live.features, live.recommendations])
        await replayProjection({ db: t.db, projection, topic: "t", partitions: 1 });
      const expected = await projectionOf(await logWithoutRetracted(t.db));
      assert.deepEqual(
        await featureReads(new FeaturesReader(store, live.prefix), true),
        await featureReads(expected.features, true),
      );
      assert.deepEqual(
        await recommendationReads(new RecommendationsReader(store, live.prefix)),
        await recommendationReads(expected.recommendations),
      );
    });

    it("replay --to builds the read model as it was at a past position beside the live one", async () => {
      const store = await suite.store();
      // The position just before the first retraction: the bot's events were still there.
      const log = await readWholeLog(t.db);
      const firstRetraction = log.findIndex((m) => m.kind === "retraction");
      const past = toLogPosition(log[firstRetraction - 1]!);
      const liveVersion = await store.currentVersion(live.prefix, "features");
      const liveReads = await featureReads(new FeaturesReader(store, live.prefix), true);
      const result = await replayProjection({
        db: t.db,
        projection: live.features,
        topic: "t",
        partitions: 1,
        to: past,
      });
      assert.equal(result.switched, false);
      assert.equal(result.version, liveVersion + 1);
      assert.equal(await store.currentVersion(live.prefix, "features"), liveVersion);
      assert.deepEqual(await featureReads(new FeaturesReader(store, live.prefix), true), liveReads);
      const expected = await projectionOf(log.slice(0, firstRetraction));
      const pastReads = await featureReads(
        new FeaturesReader(store, live.prefix, undefined, result.version),
        true,
      );
      assert.deepEqual(pastReads, await featureReads(expected.features, true));
      assert.ok(pastReads.users.find((u) => u.user_id === "bot")!.counts.view === 8);
    });
  });
}

describe("retraction in the analytics store (chdb)", () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "reckon-retraction-"));
  let ch: ClickHouseStore;
  let t: TestDatabase;
  const running: RunningExperimentsSource = {
    running: async () => [{ key: FIXTURE_EXPERIMENT.key, version: 1, definition: FIXTURE_EXPERIMENT }],
  };
  const OPEN = { now: new Date(AT), open: true } as const;

  const project = async (messages: readonly LogMessage[]) => {
    const projection: Projection = createAnalyticsProjection({ clickhouse: ch, experiments: running });
    for (let i = 0; i < messages.length; i += 7)
      await projection.apply({
        topic: "t",
        partition: 0,
        messages: messages.slice(i, i + 7).map((message) => ({ offset: String(message.position), message })),
      });
  };

  /** Every analytics read model, and the experiment's results from the totals and from the events. */
  const snapshot = async () => ({
    events: await ch.query("SELECT * FROM reckon.events FINAL ORDER BY event_id"),
    userEvents: await ch.query("SELECT * FROM reckon.user_events FINAL ORDER BY event_id"),
    firstExposures: await ch.query(
      `SELECT experiment_key, user_id, min(first_exposed_at) AS at, argMinMerge(variant) AS variant,
              argMinMerge(device) AS device
         FROM reckon.first_exposures GROUP BY experiment_key, user_id ORDER BY experiment_key, user_id`,
    ),
    totals: await ch.query(
      `SELECT * EXCEPT ver FROM reckon.experiment_user_totals FINAL
        WHERE x_ms >= 0 ORDER BY experiment_key, user_id`,
    ),
    fromTotals: await loadVariantStatisticsWithSource(ch, FIXTURE_EXPERIMENT, OPEN),
    fromEvents: await loadVariantStatisticsWithSource(ch, FIXTURE_EXPERIMENT, { ...OPEN, source: "events" }),
  });

  before(async () => {
    ch = await openClickHouse(`chdb://${dataDir}`);
    t = await createTestDatabase();
  });
  after(async () => {
    await ch.close();
    rmSync(dataDir, { recursive: true, force: true });
    await t.drop();
  });

  it("undoes rows, first exposures, per-user totals and results exactly, once", async () => {
    sequence = 0;
    const fixture = fixtureEvents();
    for (const batch of fixture) await append(t.db, batch);
    await append(t.db, extraEvents());
    const all = fixture.flat();
    await project(await readWholeLog(t.db));
    const before = await snapshot();
    assert.equal(before.fromTotals.source, "user_totals");

    // u1's control exposure (u1 is then first exposed to treatment), u5's only exposure (u5 leaves the
    // experiment), one of u4's purchases (a metric value), and every event of the bot.
    const ids = [
      all.find((e) => e.user_id === "u1" && e.type === "exposure")!.event_id,
      all.find((e) => e.user_id === "u5" && e.type === "exposure")!.event_id,
      all.find((e) => e.user_id === "u4" && e.type === "purchase")!.event_id,
    ];
    const head = await readLogHead(t.db);
    assert.equal((await retract(t.db, { event_ids: ids })).retracted, 3);
    assert.equal((await retract(t.db, { user_id: "bot" })).retracted, 12);
    await project(await readWholeLog(t.db, head));
    const retracted = await snapshot();
    assert.equal(retracted.fromTotals.source, "user_totals");
    assert.notDeepEqual(retracted.fromTotals.statistics, before.fromTotals.statistics);
    assert.deepEqual(retracted.fromTotals.statistics, retracted.fromEvents.statistics);
    const u1 = retracted.firstExposures.find(
      (r) =>
        (r as { user_id: string; experiment_key: string }).user_id === "u1" &&
        (r as { experiment_key: string }).experiment_key === FIXTURE_EXPERIMENT.key,
    ) as { variant: string };
    assert.equal(u1.variant, "treatment");
    assert.ok(!retracted.totals.some((r) => (r as { user_id: string }).user_id === "u5"));

    // Redelivery of the whole log (originals and retractions again) changes nothing.
    await project(await readWholeLog(t.db));
    assert.deepEqual(await snapshot(), retracted);

    // Never sent: a projection of the log without those events, from empty tables.
    await ch.command("DROP DATABASE reckon SYNC");
    await project(await logWithoutRetracted(t.db));
    assert.deepEqual(await snapshot(), retracted);
  });
});
