// Switching readers to a checkpoint built by `reckon replay --to`, and back, on every projection store (the
// stack's Redis and Redis Cluster, the in-process store) with the stack's Postgres: readers see the past state
// while the live version keeps applying new events and nothing writes the checkpoint; back on the live version
// they see a projection of the whole log; a repeated switch changes nothing; status and read-your-writes waits
// know the pin; every command, refusals included, is in the audit log.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogHead, toLogPosition } from "../../core/event-store/log-reader.ts";
import {
  compareLogPositions,
  formatPositionToken,
  LOG_START,
  type LogPosition,
} from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { loadEnv } from "../../core/config/env.ts";
import { PostgresTailTransport } from "../../core/log-transport/postgres-tail.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { FeaturesReader } from "../features/read.ts";
import { RecommendationsReader } from "../recommendations/read.ts";
import { ProjectionStatus } from "../status/status.ts";
import type { RedisProjection } from "./redis-projection.ts";
import { replayProjection } from "./replay.ts";
import { runSwitchCommand } from "./switch-command.ts";
import { beginCheckpoint, checkpointVersions, SwitchRefused } from "./version-pin.ts";
import { readWholeLog } from "../../core/testing/log.ts";

const T0 = Date.parse("2026-02-01T00:00:00.000Z");
const HOUR = 3_600_000;
/** Reads are evaluated at this time (decayed values), after every event. */
const AT = T0 + 200 * HOUR;
const USERS = ["a", "b", "c", "d"];
const ITEMS = ["i1", "i2", "i3", "i4"];
const TYPES = ["view", "click", "add_to_cart", "purchase"];

let sequence = 0;
/** `count` interactions from `hours` on, spread over the users, items and types. */
function events(count: number, hours: number): InteractionEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const n = ++sequence;
    return {
      event_id: `00000000-0000-4000-c000-${n.toString(16).padStart(12, "0")}`,
      type: TYPES[n % TYPES.length]!,
      user_id: USERS[(n * 3) % USERS.length]!,
      item_id: ITEMS[(n * 5 + i) % ITEMS.length]!,
      timestamp: new Date(T0 + (hours + i) * HOUR).toISOString(),
    };
  });
}

/** Appends and waits until log readers see the events (other suites' transactions may hold them back). */
async function append(db: TestDatabase["db"], batch: InteractionEvent[]): Promise<LogPosition> {
  const head = (await appendInteractionEvents(db, batch)).head!;
  while (compareLogPositions(await readLogHead(db), head) < 0) await new Promise((r) => setTimeout(r, 20));
  return head;
}

/** What serving reads, through fresh readers (a reader caches the version it reads for half a second). */
async function reads(store: ProjectionStore, prefix: string, version?: number) {
  const features = new FeaturesReader(store, prefix, undefined, version);
  const recommendations = new RecommendationsReader(store, prefix);
  return {
    users: await Promise.all(USERS.map((u) => features.getUserFeatures(u, AT))),
    items: await Promise.all(ITEMS.map((i) => features.getItemPopularity(i, AT))),
    trending: await features.getTrending(undefined, 10, "long", AT),
    // Without a version: the recommendations reader always reads the version readers use.
    ...(version === undefined
      ? {
          neighbours: await Promise.all(ITEMS.map((i) => recommendations.getNeighbours(i, 10))),
          histories: await Promise.all(USERS.map((u) => recommendations.getUserHistory(u, 10))),
        }
      : {}),
  };
}

/** The store as the command gets it, with a close that leaves this suite's store open. */
function leftOpen(store: ProjectionStore): ProjectionStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "close") return async () => undefined;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

for (const backend of PROJECTION_STORES) {
  describe(`reckon switch on ${backend.name}`, () => {
    const suite = storeForSuite(backend);
    let t: TestDatabase;
    let store: ProjectionStore;
    let prefix: string;
    let live: { features: RedisProjection; recommendations: RedisProjection };
    let applied: LogPosition = LOG_START;
    let checkpoint: LogPosition;
    let pinned: { features: number; recommendations: number };

    /** The live consumer: the log's new entries, in log order, as the tail's one partition of topic "t". */
    const catchUp = async () => {
      const batch = await readWholeLog(t.db, applied);
      if (batch.length === 0) return;
      await live.features.applyMessages(batch, "t:0");
      await live.recommendations.applyMessages(batch, "t:0");
      applied = toLogPosition(batch[batch.length - 1]!);
    };

    /** A fresh projection of `messages` under its own prefix, read as serving reads it. */
    const readsOfProjection = async (messages: readonly LogMessage[]) => {
      const other = suite.prefix("rk_switch_expected");
      await createFeaturesProjection(store, { prefix: other }).applyMessages(messages, "log");
      await createRecommendationsProjection(store, { prefix: other }).applyMessages(messages, "log");
      return reads(store, other);
    };

    /** `reckon switch` as the CLI runs it, on this suite's store (left open) and database. */
    const runSwitch = (opts: { projection: string; version?: string; live?: boolean }) =>
      runSwitchCommand(
        loadEnv({ DATABASE_URL: t.url, REDIS_URL: "redis://unused", RECKON_REDIS_PREFIX: prefix }),
        opts,
        async () => leftOpen(store),
      );

    before(async () => {
      t = await createTestDatabase();
      store = await suite.store();
      prefix = suite.prefix("rk_switch");
      live = {
        features: createFeaturesProjection(store, { prefix }),
        recommendations: createRecommendationsProjection(store, { prefix }),
      };
      const items = ITEMS.map((item_id, i) => ({
        item_id,
        categories: [i % 2 ? "x" : "y"],
        attributes: {},
        available: true,
      }));
      await writeItems(t.db, items, new Date(T0));
      checkpoint = await append(t.db, events(12, 1));
      await catchUp();
      await append(t.db, events(10, 20));
      await catchUp();
    });

    after(async () => {
      await suite.cleanUp();
      await t.drop();
    });

    it("pins readers to a checkpoint: they read the past state while the live version applies new events", async () => {
      const past = await readsOfProjection(
        (await readWholeLog(t.db)).filter((m) => compareLogPositions(toLogPosition(m), checkpoint) <= 0),
      );
      const built = {
        features: await replayProjection({
          db: t.db,
          projection: live.features,
          topic: "t",
          partitions: 1,
          to: checkpoint,
        }),
        recommendations: await replayProjection({
          db: t.db,
          projection: live.recommendations,
          topic: "t",
          partitions: 1,
          to: checkpoint,
        }),
      };
      pinned = { features: built.features.version, recommendations: built.recommendations.version };
      const liveVersion = await store.currentVersion(prefix, "features");
      assert.notDeepEqual(await reads(store, prefix), past, "the live state has the later events");

      const switched = await runSwitch({ projection: "features", version: String(pinned.features) });
      assert.deepEqual(switched, {
        projection: "features",
        readers: pinned.features,
        live: liveVersion,
        pinned: { version: pinned.features, position: formatPositionToken(checkpoint) },
        previous: liveVersion,
        changed: true,
      });
      await runSwitch({ projection: "recommendations", version: String(pinned.recommendations) });
      assert.deepEqual(await reads(store, prefix), past);

      // Events keep arriving: the live consumer applies them to the live version, never to the checkpoint.
      await append(t.db, events(9, 40));
      await catchUp();
      assert.equal(await store.currentVersion(prefix, "features"), liveVersion);
      assert.deepEqual(await reads(store, prefix), past);
      const { users, items, trending } = await readsOfProjection(await readWholeLog(t.db));
      assert.deepEqual(await reads(store, prefix, liveVersion), { users, items, trending });
    });

    it("shows the pin in the status, and a read-your-writes wait past it is not reached", async () => {
      const transport = new PostgresTailTransport({ db: t.db, topic: "t" });
      const status = new ProjectionStatus({ db: t.db, projections: [live.features], transport });
      try {
        const report = await status.status();
        const head = await readLogHead(t.db);
        const behind = (await readWholeLog(t.db, checkpoint)).length;
        assert.deepEqual(report.projectors, [
          {
            name: "features",
            position: formatPositionToken(head),
            lag: 0,
            pinned: { version: pinned.features, position: formatPositionToken(checkpoint), lag: behind },
          },
        ]);
        assert.ok(behind > 0);
        assert.deepEqual(await status.waitForPosition(["features"], formatPositionToken(head)), {
          reached: false,
          waitedMs: 0,
        });
        assert.equal(
          (await status.waitForPosition(["features"], formatPositionToken(checkpoint))).reached,
          true,
        );
      } finally {
        await status.close();
      }
    });

    it("switching to the same checkpoint again changes nothing", async () => {
      const before = await reads(store, prefix);
      const again = await runSwitch({ projection: "features", version: String(pinned.features) });
      assert.equal(again.changed, false);
      assert.equal(again.readers, pinned.features);
      assert.deepEqual(await reads(store, prefix), before);
    });

    it("a replay keeps the pinned checkpoint and does not reuse its number", async () => {
      const before = await reads(store, prefix);
      const liveVersion = await store.currentVersion(prefix, "features");
      const other = await replayProjection({
        db: t.db,
        projection: live.features,
        topic: "t",
        partitions: 1,
        to: checkpoint,
      });
      assert.ok(other.version > pinned.features, `${other.version} after ${pinned.features}`);
      const rebuilt = await replayProjection({
        db: t.db,
        projection: live.features,
        topic: "t",
        partitions: 1,
      });
      assert.equal(rebuilt.switched, true);
      assert.equal(rebuilt.previousVersion, liveVersion);
      assert.deepEqual(await reads(store, prefix), before, "readers stay on the pinned checkpoint");
      // The unpinned checkpoint went with the rebuild; the pinned one is kept.
      assert.deepEqual(await checkpointVersions(store, live.features), [pinned.features]);
    });

    it("back to the live version: readers see a projection of the whole log, and again changes nothing", async () => {
      await append(t.db, events(5, 60));
      await catchUp();
      const back = await runSwitch({ projection: "features", live: true });
      assert.equal(back.changed, true);
      assert.equal(back.pinned, null);
      assert.equal(back.previous, pinned.features);
      assert.equal(back.readers, await store.currentVersion(prefix, "features"));
      // A version number naming the live version is the same as --live.
      const backRecommendations = await runSwitch({
        projection: "recommendations",
        version: String(await store.currentVersion(prefix, "recommendations")),
      });
      assert.equal(backRecommendations.changed, true);
      assert.deepEqual(await reads(store, prefix), await readsOfProjection(await readWholeLog(t.db)));
      const again = await runSwitch({ projection: "features", live: true });
      assert.equal(again.changed, false);
      assert.equal(await live.features.pinnedVersion(), undefined);
    });

    it("refuses what it cannot switch, naming the field, the rule and what it received", async () => {
      await beginCheckpoint(store, live.features, 77);
      const refusals: [Parameters<typeof runSwitch>[0], RegExp][] = [
        [
          { projection: "nope", version: "2" },
          /^--projection: must be one of features, recommendations \(received "nope"\)$/,
        ],
        [
          { projection: "analytics", version: "2" },
          /^--projection: .*readers of analytics are not switched.*\(received "analytics"\)$/,
        ],
        [{ projection: "features" }, /^--version: give --version <n> or --live \(received neither\)$/],
        [
          { projection: "features", version: "two" },
          /^--version: must be a positive integer \(received "two"\)$/,
        ],
        [
          { projection: "features", version: "2", live: true },
          /^--version: give either --version or --live, not both/,
        ],
        [
          { projection: "features", version: "99" },
          /^--version: must be a checkpoint version of features built by reckon replay --to \(kept: .*\) or its live version \d+ \(received 99\)$/,
        ],
        [
          { projection: "features", version: "77" },
          /^--version: version 77 of features is still being built by reckon replay --to; .* \(received 77\)$/,
        ],
      ];
      for (const [opts, message] of refusals) {
        await assert.rejects(runSwitch(opts), (err: Error) => {
          assert.ok(err instanceof SwitchRefused, err.message);
          assert.match(err.message, message);
          return true;
        });
      }
      assert.equal(await live.features.pinnedVersion(), undefined, "no refusal moved readers");
    });

    it("records every switch in the audit log with its actor and outcome", async () => {
      const { rows } = await t.db.query<{
        actor: string;
        target: string;
        outcome: string;
        changed: boolean | null;
      }>(
        `SELECT actor, target, outcome, (details->>'changed')::boolean AS changed FROM audit_log
          WHERE action = 'projection.switch' ORDER BY id`,
      );
      const summary = rows.map((r) => `${r.target} ${r.outcome} ${r.changed ?? "-"}`);
      assert.deepEqual(summary, [
        "features ok true",
        "recommendations ok true",
        "features ok false",
        "features ok true",
        "recommendations ok true",
        "features ok false",
        "nope refused -",
        "analytics refused -",
        "features refused -",
        "features refused -",
        "features refused -",
        "features refused -",
        "features refused -",
      ]);
      assert.ok(
        rows.every((r) => r.actor.startsWith("cli:")),
        JSON.stringify(rows),
      );
    });
  });
}
