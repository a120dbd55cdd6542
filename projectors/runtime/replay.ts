import { replayProgressBar } from "./replay-progress.ts";
import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import type { Database, Queryable } from "../../core/postgres/database.ts";
import { countLogAfter, readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import {
  compareLogPositions,
  formatPositionToken,
  LOG_START,
  type LogPosition,
} from "../../core/contracts/position.ts";
import { RetractedEventsFilter } from "../../core/event-store/retracted-events.ts";
import { logger } from "../../core/logger.ts";
import { appliedField, REPLAY_SOURCE, versionBase } from "../../core/read-models/keys.ts";
import type { RedisProjection } from "./redis-projection.ts";
import { asProjectionStore } from "../store/open.ts";
import { beginCheckpoint, dropUnpinnedCheckpoints, finishCheckpoint } from "./version-pin.ts";
import { withProjectionVersionsLock } from "./version-lock.ts";

/** How long a replay waits for the projection's versions lock (a switch holds it for milliseconds). */
const REPLAY_WAIT_MS = 30_000;

export interface ReplayOptions {
  /** The log, and the projection's versions lock (version-lock.ts). */
  db: Queryable & Pick<Database, "transaction">;
  /** What the replay is, as a switch refused meanwhile is told (default "reckon replay"). */
  command?: string;
  projection: RedisProjection;
  /** The live events topic and its partition count: the new version takes over its applied positions. */
  topic: string;
  partitions: number;
  /** Rebuild from after this position (default: the start of the log). */
  from?: LogPosition;
  /**
   * Rebuild the read model as it was at this position, beside the live one, and leave readers where they are
   * (`reckon replay --to`): the new version is a checkpoint, kept to be inspected (FeaturesReader's `version`)
   * or pinned for readers (`reckon switch`, version-pin.ts) until the next replay of the projection deletes it
   * (unless readers are pinned to it).
   */
  to?: LogPosition;
  batchSize?: number;
  /** Show a progress bar with the rate on stderr. */
  progress?: boolean;
  /** Called after each applied batch (benchmarks and tests observe progress). */
  onBatch?: (applied: number) => void;
}

export interface ReplayResult {
  projection: string;
  previousVersion: number;
  version: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  position: string;
  deletedKeys: number;
  /** Whether readers were switched to the new version (not with `to`). */
  switched: boolean;
  /** The new version's key prefix. */
  keyPrefix: string;
}

/**
 * Rebuilds a Redis projection from the Postgres log into a new version beside the live one, switches readers
 * to it, then deletes the old version's keys. The live consumer keeps running throughout: it writes the old
 * version until the switch and the new one after it.
 */
export async function replayProjection(options: ReplayOptions): Promise<ReplayResult> {
  const { db, projection, topic, partitions } = options;
  const store = projection.store;
  const batchSize = options.batchSize ?? 2000;
  const base = (v: number) => versionBase(projection.prefix, projection.ns, v);
  const until = options.to;
  // Under the projection's versions lock, so that no switch pins a checkpoint between the moment it is found
  // unpinned and its deletion (version-lock.ts).
  const { previousVersion, version } = await withProjectionVersionsLock(
    db,
    projection.name,
    options.command ?? "reckon replay",
    REPLAY_WAIT_MS,
    async () => {
      const previousVersion = await store.currentVersion(projection.prefix, projection.name);
      // Past checkpoints go, but the one readers are pinned to (reckon switch) stays, and its number is not reused.
      const { kept: pinned } = await dropUnpinnedCheckpoints(store, projection);
      const version = Math.max(previousVersion, pinned ?? 0) + 1;
      // A rebuild that died earlier may have left keys of this version behind.
      await store.deleteByPrefix(base(version));
      // A version built to a past position is a checkpoint: it may be pinned (reckon switch) once it is built.
      if (until) await beginCheckpoint(store, projection, version);
      return { previousVersion, version };
    },
  );

  let position = options.from ?? LOG_START;
  let total = await countLogAfter(db, position);
  // Retracted events and their retractions are left out (as of `until` when the replay stops there).
  const retracted = new RetractedEventsFilter(db, until);
  const bar = replayProgressBar(`${projection.name} v${version}`, options.progress);
  bar?.start(total, 0, { rate: 0 });
  const started = Date.now();
  let events = 0;
  let prefetched: Promise<Awaited<ReturnType<typeof readLogBatch>>> | undefined;
  // The previous batch's apply, still running in Redis while the next batch is read (and, when every batch is
  // one script call on one connection, decided and encoded: Redis runs one connection's commands in order, so
  // batches still apply in log order). Otherwise (a Redis time budget splitting batches, script-budget.ts; a
  // cluster) it is settled first: a later batch's first call sent between two calls of an earlier one would
  // store a later position and make the rest of the earlier batch look applied. If an apply fails, the replay
  // throws and the half-built version is never switched to (the next replay deletes it first).
  const overlapApplies = projection.appliesBatchInOneCall;
  let inflight: Promise<void> | undefined;
  const settle = async () => {
    const previous = inflight;
    inflight = undefined;
    await previous;
  };
  let switched = false;
  for (;;) {
    const read = await (prefetched ?? readLogBatch(db, position, batchSize));
    prefetched = undefined;
    const batch = until ? read.filter((m) => compareLogPositions(toLogPosition(m), until) <= 0) : read;
    const reachedEnd = batch.length < read.length;
    if (batch.length > 0) {
      position = toLogPosition(batch[batch.length - 1]!);
      // Postgres reads the next batch while Redis applies this one.
      if (batch.length === batchSize && !reachedEnd) {
        prefetched = readLogBatch(db, position, batchSize);
        prefetched.catch(() => undefined); // awaited (and thrown) on the next turn, unless an apply throws first
      }
      if (!overlapApplies) await settle();
      const kept = await retracted.filter(batch);
      const applying = projection.applyMessages(kept, REPLAY_SOURCE, version).then(() => {
        events += batch.length;
        options.onBatch?.(events);
        if (events > total) total = events;
        bar?.setTotal(total);
        bar?.update(events, {
          rate: Math.round(events / Math.max((Date.now() - started) / 1000, 0.001)),
        });
      });
      applying.catch(() => undefined); // awaited by settle()
      await settle();
      inflight = applying;
    }
    if (until && (reachedEnd || batch.length < batchSize)) {
      await settle();
      break;
    }
    if (batch.length < batchSize) {
      await settle();
      const sources = Array.from({ length: partitions }, (_, p) => appliedField(topic, p));
      switched = await store.switchVersion(projection.target(), previousVersion, version, position, sources);
      if (switched) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  bar?.stop();
  if (until) await finishCheckpoint(store, projection, version, position);
  const seconds = (Date.now() - started) / 1000;
  // A past version stays beside the live one; a switched rebuild drops the version it replaced.
  const deletedKeys = switched ? await store.deleteByPrefix(base(previousVersion)) : 0;
  const result: ReplayResult = {
    projection: projection.name,
    previousVersion,
    version,
    events,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
    position: formatPositionToken(position),
    deletedKeys,
    switched,
    keyPrefix: base(version),
  };
  logger.info(
    result,
    switched
      ? "replay finished; readers switched to the new version"
      : "replay finished beside the live version",
  );
  return result;
}

/**
 * Deletes the keys matching `pattern`, which must be a prefix followed by `*` (the store's deleteByPrefix; on
 * Redis a SCAN + UNLINK on every node, never blocking it).
 */
export async function deleteKeys(store: ProjectionStore | RedisClient, pattern: string): Promise<number> {
  if (!pattern.endsWith("*") || /[*?[\]\\]/.test(pattern.slice(0, -1)))
    throw new Error(`deleteKeys: the pattern must be a prefix followed by "*" (received "${pattern}")`);
  return asProjectionStore(store).deleteByPrefix(pattern.slice(0, -1));
}
