import { LUA_AFTER, LUA_LIVE_AHEAD } from "./lua.ts";
import { replayProgressBar } from "./replay-progress.ts";
import { isCluster, type RedisClient } from "../../core/redis/redis.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import { countLogAfter, readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { formatPositionToken, LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import { logger } from "../../core/logger.ts";
import {
  APPLIED_KEY,
  appliedField,
  clusterControlKeys,
  REPLAY_SOURCE,
  versionBase,
  versionPointerKey,
} from "../../core/read-models/keys.ts";
import { currentVersion } from "./redis-batch.ts";
import { finishJournals } from "./cluster-batch.ts";
import type { RedisProjection } from "./redis-projection.ts";

export interface ReplayOptions {
  db: Queryable;
  projection: RedisProjection;
  /** The live events topic and its partition count: the new version takes over its applied positions. */
  topic: string;
  partitions: number;
  /** Rebuild from after this position (default: the start of the log). */
  from?: LogPosition;
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
}

/**
 * Switches readers and the live consumer to the new version in one atomic step, but only once the rebuild has
 * passed every position the live consumer applied to the old version (otherwise events the live consumer
 * applied after the rebuild's last read would be missing from the new version). The new version then records
 * the rebuild's position for every live partition, so the live consumer skips what the rebuild applied and
 * applies everything after it. Returns 0 when the live consumer is ahead: the rebuild reads on and retries.
 */
const SWITCH = `
local pointer, oldApplied, newApplied, tx, pos, version = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
${LUA_AFTER}
${LUA_LIVE_AHEAD}
if liveAhead(oldApplied, tx, pos) then return 0 end
for i = 7, #ARGV do redis.call('HSET', newApplied, ARGV[i], tx .. '.' .. pos) end
redis.call('SET', pointer, version)
return 1
`;

/**
 * The same switch on a Redis Cluster, where the pointer, both versions' applied hashes and the old version's
 * journal share one slot (keys.ts clusterControlKeys). Returns 2 while a live batch is journaled into the old
 * version and not committed: the rebuild finishes it (cluster-batch.ts finishJournals) and asks again, so that
 * nothing writes the old version once the pointer has moved (a new live batch checks the pointer when it is
 * journaled, in this slot).
 */
const CLUSTER_SWITCH = `
local tx, pos, version = ARGV[1], ARGV[2], ARGV[3]
${LUA_AFTER}
${LUA_LIVE_AHEAD}
if redis.call('HLEN', KEYS[4]) > 0 then return 2 end
if liveAhead(KEYS[2], tx, pos) then return 0 end
for i = 4, #ARGV do redis.call('HSET', KEYS[3], ARGV[i], tx .. '.' .. pos) end
redis.call('SET', KEYS[1], version)
return 1
`;

/** The switch for either kind of client: 1 switched, 0 the live consumer is ahead of `position`. */
async function switchVersion(
  redis: RedisClient,
  projection: RedisProjection,
  previousVersion: number,
  version: number,
  position: LogPosition,
  liveFields: (applied: string) => Promise<string[]>,
): Promise<unknown> {
  const pointer = versionPointerKey(projection.prefix, projection.name);
  const tx = position.transactionId.toString();
  const pos = String(position.position);
  if (isCluster(redis)) {
    const from = clusterControlKeys(projection.prefix, projection.ns, projection.name, previousVersion);
    const to = clusterControlKeys(projection.prefix, projection.ns, projection.name, version);
    const fields = await liveFields(from.applied);
    for (;;) {
      const switched = await redis.eval(
        CLUSTER_SWITCH,
        4,
        pointer,
        from.applied,
        to.applied,
        from.journal,
        tx,
        pos,
        String(version),
        ...fields,
      );
      if (switched !== 2) return switched;
      await finishJournals(redis, projection.target(), previousVersion);
    }
  }
  const base = (v: number) => versionBase(projection.prefix, projection.ns, v);
  const fields = await liveFields(base(previousVersion) + APPLIED_KEY);
  return redis.eval(
    SWITCH,
    0,
    pointer,
    base(previousVersion) + APPLIED_KEY,
    base(version) + APPLIED_KEY,
    tx,
    pos,
    String(version),
    ...fields,
  );
}

/**
 * Rebuilds a Redis projection from the Postgres log into a new version beside the live one, switches readers
 * to it, then deletes the old version's keys. The live consumer keeps running throughout: it writes the old
 * version until the switch and the new one after it.
 */
export async function replayProjection(options: ReplayOptions): Promise<ReplayResult> {
  const { db, projection, topic, partitions } = options;
  const redis = projection.redis;
  const batchSize = options.batchSize ?? 2000;
  const previousVersion = await currentVersion(redis, projection.prefix, projection.name);
  const version = previousVersion + 1;
  const base = (v: number) => versionBase(projection.prefix, projection.ns, v);
  // A rebuild that died earlier may have left keys of this version behind.
  await deleteKeys(redis, `${base(version)}*`);

  let position = options.from ?? LOG_START;
  let total = await countLogAfter(db, position);
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
  for (;;) {
    const batch = await (prefetched ?? readLogBatch(db, position, batchSize));
    prefetched = undefined;
    if (batch.length > 0) {
      position = toLogPosition(batch[batch.length - 1]!);
      // Postgres reads the next batch while Redis applies this one.
      if (batch.length === batchSize) {
        prefetched = readLogBatch(db, position, batchSize);
        prefetched.catch(() => undefined); // awaited (and thrown) on the next turn, unless an apply throws first
      }
      if (!overlapApplies) await settle();
      const applying = projection.applyMessages(batch, REPLAY_SOURCE, version).then(() => {
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
    if (batch.length < batchSize) {
      await settle();
      const switched = await switchVersion(
        redis,
        projection,
        previousVersion,
        version,
        position,
        async (applied) => {
          const fields = new Set<string>();
          for (let p = 0; p < partitions; p++) fields.add(appliedField(topic, p));
          for (const f of await redis.hkeys(applied)) if (f !== REPLAY_SOURCE) fields.add(f);
          return [...fields];
        },
      );
      if (switched === 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  bar?.stop();
  const seconds = (Date.now() - started) / 1000;
  const deletedKeys = await deleteKeys(redis, `${base(previousVersion)}*`);
  const result: ReplayResult = {
    projection: projection.name,
    previousVersion,
    version,
    events,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
    position: formatPositionToken(position),
    deletedKeys,
  };
  logger.info(result, "replay finished; readers switched to the new version");
  return result;
}

/** SCAN + UNLINK: deletes keys matching `pattern` without blocking Redis (on every master of a cluster). */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<number> {
  let deleted = 0;
  for (const node of isCluster(redis) ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      if (isCluster(redis)) {
        // One key per UNLINK: a cluster refuses multi-key commands across slots, even on one node.
        const pipeline = node.pipeline();
        for (const key of keys) pipeline.unlink(key);
        for (const [err, n] of (await pipeline.exec()) ?? []) {
          if (err) throw err;
          deleted += Number(n);
        }
      } else deleted += await node.unlink(...keys);
    } while (cursor !== "0");
  }
  return deleted;
}
