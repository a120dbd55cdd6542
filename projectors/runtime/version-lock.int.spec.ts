// `reckon switch` and a replay exclude each other per projection (version-lock.ts), with the stack's Postgres
// and the in-process projection store: a switch that comes while a replay is deleting the checkpoints not pinned
// is refused, naming the projection and the replay, instead of pinning a checkpoint the replay then deletes; a
// replay that comes while a switch holds the projection waits for it; another projection is not held.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { loadEnv } from "../../core/config/env.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { replayProjection } from "./replay.ts";
import { runSwitchCommand } from "./switch-command.ts";
import { checkpointState, checkpointVersions, pinnedVersion } from "./version-pin.ts";
import { ProjectionVersionsBusy, withProjectionVersionsLock } from "./version-lock.ts";
import { waitVisible } from "../../core/testing/log.ts";

const T0 = Date.parse("2026-03-01T00:00:00.000Z");
let sequence = 0;
const events = (count: number): InteractionEvent[] =>
  Array.from({ length: count }, (_, i) => {
    const n = ++sequence;
    return {
      event_id: `00000000-0000-4000-d000-${n.toString(16).padStart(12, "0")}`,
      type: "view",
      user_id: `u${n % 3}`,
      item_id: `i${n % 4}`,
      timestamp: new Date(T0 + i * 60_000).toISOString(),
    };
  });

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * `store`, whose next `smembers` (a replay listing the checkpoints to delete, after it read the pin) waits for
 * `resume` once `pauseNextListing` armed it; `close` leaves the suite's store open.
 */
function pausable(store: ProjectionStore) {
  let armed: { paused: () => void; resume: Promise<void> } | undefined;
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      if (property === "close") return async () => undefined;
      if (property === "smembers" && armed) {
        const { paused, resume } = armed;
        armed = undefined;
        return async (...args: Parameters<ProjectionStore["smembers"]>) => {
          paused();
          await resume;
          return target.smembers(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const pauseNextListing = () => {
    const paused = signal();
    const resume = signal();
    armed = { paused: paused.resolve, resume: resume.promise };
    return { paused: paused.promise, resume: resume.resolve };
  };
  return { store: wrapped, pauseNextListing };
}

const backend = PROJECTION_STORES.find((b) => b.name === "in-process")!;

describe("reckon switch and reckon replay exclude each other", () => {
  const suite = storeForSuite(backend);
  let t: TestDatabase;
  let prefix: string;
  let paused: ReturnType<typeof pausable>;
  let checkpoint: LogPosition;

  const features = () => createFeaturesProjection(paused.store, { prefix });
  const replayTo = (to?: LogPosition) =>
    replayProjection({ db: t.db, projection: features(), topic: "t", partitions: 1, ...(to ? { to } : {}) });
  const runSwitch = (projection: string, version: number) =>
    runSwitchCommand(
      loadEnv({ DATABASE_URL: t.url, REDIS_URL: "redis://unused", RECKON_REDIS_PREFIX: prefix }),
      { projection, version: String(version) },
      async () => paused.store,
    );

  before(async () => {
    t = await createTestDatabase();
    paused = pausable(await suite.store());
    prefix = suite.prefix("rk_vlock");
    checkpoint = (await appendInteractionEvents(t.db, events(8))).head!;
    await waitVisible(t.db, (await appendInteractionEvents(t.db, events(4))).head!);
  });

  after(async () => {
    await suite.cleanUp();
    await t.drop();
  });

  it("refuses a switch while a replay deletes the checkpoints not pinned, naming the projection and the replay", async () => {
    const built = await replayTo(checkpoint);
    assert.deepEqual(await checkpointVersions(paused.store, features()), [built.version]);

    // The next replay stops after reading that nothing is pinned, before deleting the unpinned checkpoint.
    const { paused: listing, resume } = paused.pauseNextListing();
    const replay = replayTo();
    await listing;
    const switching = runSwitch("features", built.version);
    const refusal = await switching.then(
      () => undefined,
      (error: unknown) => error,
    );
    resume();
    const replayed = await replay;

    assert.ok(refusal instanceof ProjectionVersionsBusy, String(refusal));
    assert.match(
      refusal.message,
      /^reckon switch --projection features: refused, reckon replay --projection features \(Postgres backend \d+, since [0-9T:.-]+Z\) is changing the versions of features; run it again once that has finished$/,
    );
    // The replay went on: the checkpoint it found unpinned is gone, and nothing pins a deleted version.
    assert.equal(replayed.switched, true);
    assert.deepEqual(await checkpointVersions(paused.store, features()), []);
    assert.equal(await pinnedVersion(paused.store, features()), undefined);
    assert.deepEqual(await checkpointState(paused.store, features(), built.version), { state: "unknown" });
    const { rows } = await t.db.query<{ outcome: string; details: { reason?: string } }>(
      "SELECT outcome, details FROM audit_log WHERE action = 'projection.switch' ORDER BY id DESC LIMIT 1",
    );
    assert.deepEqual(rows, [
      {
        outcome: "refused",
        details: { version: String(built.version), live: false, reason: refusal.message },
      },
    ]);
  });

  it("a replay waits for a switch holding the projection, and a switch of another projection goes on", async () => {
    await replayTo(checkpoint);
    const held = signal();
    const release = signal();
    const holding = withProjectionVersionsLock(t.db, "features", "reckon switch", 1_000, async () => {
      held.resolve();
      await release.promise;
    });
    await held.promise;
    let replayDone = false;
    const replay = replayTo().then((r) => {
      replayDone = true;
      return r;
    });
    // Another projection's lock is free meanwhile.
    const other = await runSwitch("recommendations", 1);
    assert.equal(other.projection, "recommendations");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(replayDone, false, "the replay waits while the switch holds features");
    release.resolve();
    await holding;
    const replayed = await replay;
    assert.equal(replayed.switched, true);
    assert.deepEqual(await checkpointVersions(paused.store, features()), []);
  });
});
