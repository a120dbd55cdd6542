import { randomUUID } from "node:crypto";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { clusterUrl, isCluster, openRedisClient, type RedisClient } from "../../core/redis/redis.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import type { BatchTarget, OpsMessage, ProjectionStore } from "../../core/projection-store/port.ts";
import { stackEnv, stackRedisClusterNodes } from "../../core/testing/stack.ts";
import { asProjectionStore, projectionStoreOn } from "../store/open.ts";
import { APPLIED_KEY, isClusterBookkeeping, versionBase } from "../../core/read-models/keys.ts";
import { applyPreparedBatch, prepareOpsBatch, type BatchResult } from "./redis-batch.ts";
import { applyOpsBatchCluster } from "./cluster-batch.ts";

/**
 * Test helpers: a canonical dump of one projection version (relative key → type and content, sorted) so that
 * two runs on different key prefixes, or on different projection stores, can be compared for equality, and
 * LogMessage builders. On a cluster the applied-positions hash is shown as `applied` (its name carries a slot
 * tag there) and the per-slot guards and the journal, whose contents depend on batch boundaries, are left out.
 * Sorted sets are listed lowest first (ZRANGE order: score, then member).
 */
export async function dumpVersion(
  source: ProjectionStore | RedisClient,
  prefix: string,
  ns: string,
  version: number,
): Promise<Record<string, unknown>> {
  const store = asProjectionStore(source);
  const base = versionBase(prefix, ns, version);
  const out: Record<string, unknown> = {};
  for (const key of await store.keysByPrefix(base)) {
    let relative = key.slice(base.length);
    if (isClusterBookkeeping(relative)) {
      if (!relative.endsWith(`:${APPLIED_KEY}`)) continue;
      relative = APPLIED_KEY;
    }
    const type = await store.type(key);
    if (type === "zset") {
      const desc = await store.zrevrangeWithScores(key, 0, -1);
      const asc: string[] = [];
      for (let i = desc.length - 2; i >= 0; i -= 2) asc.push(desc[i]!, desc[i + 1]!);
      out[relative] = asc;
    } else if (type === "hash")
      out[relative] = Object.fromEntries(Object.entries(await store.hgetall(key)).sort());
    else if (type === "string") out[relative] = await store.get(key);
    else out[relative] = `<${type}>`;
  }
  return out;
}

/** One batch on either Redis path, with the script's result (specs of the batch scripts themselves). */
export function applyOpsBatch(
  redis: RedisClient,
  target: BatchTarget,
  source: string,
  messages: readonly OpsMessage[],
): Promise<BatchResult> {
  return isCluster(redis)
    ? applyOpsBatchCluster(redis, target, source, messages)
    : applyPreparedBatch(redis, target, source, prepareOpsBatch(messages));
}

/** The applied position stored for `source` (the store's appliedPosition). */
export const readAppliedPosition = (
  redis: RedisClient,
  target: BatchTarget,
  source: string,
): Promise<LogPosition | undefined> => projectionStoreOn(redis).appliedPosition(target, source);

let nextPosition = 1;

export function interaction(
  user: string,
  item: string | undefined,
  type: string,
  timestamp: string,
  position = nextPosition++,
): LogMessage {
  return {
    kind: "interaction",
    position,
    transaction_id: String(1000 + position),
    received_at: timestamp,
    event: {
      event_id: randomUUID(),
      type,
      user_id: user,
      ...(item !== undefined ? { item_id: item } : {}),
      timestamp,
      ...(type === "rating" ? { value: 4 } : {}),
    },
  };
}

export function catalog(
  item: string,
  categories: string[],
  version: number,
  position = nextPosition++,
  { available = true, updatedAt = new Date() }: { available?: boolean; updatedAt?: Date } = {},
): LogMessage {
  const at = updatedAt.toISOString();
  return {
    kind: "catalog",
    position,
    transaction_id: String(1000 + position),
    received_at: at,
    event: {
      event_id: randomUUID(),
      type: "item_changed",
      item_id: item,
      timestamp: at,
      item: { item_id: item, version, categories, attributes: {}, available, updated_at: at },
    },
  };
}

/**
 * The Redis backends the projection conformance specs run on: the stack's single Redis and its Redis Cluster,
 * opened the way the app opens them (core/redis/redis.ts). Neither is optional: a missing cluster fails.
 */
export const REDIS_BACKENDS: readonly { name: string; url(): string; open(): RedisClient }[] = [
  { name: "single Redis", url: () => stackEnv().REDIS_URL },
  { name: "Redis Cluster", url: () => clusterUrl(stackRedisClusterNodes()) },
].map((b) => ({ ...b, open: () => openRedisClient(b.url()) }));

/**
 * Closes a test's client with QUIT, so commands still queued finish first: a Cluster client dropped with an
 * auto-pipeline pending answers its callbacks with no results, which ioredis turns into an uncaught TypeError
 * after the test (seen in CI on the runtime spec).
 */
export async function closeRedis(redis: RedisClient): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}
