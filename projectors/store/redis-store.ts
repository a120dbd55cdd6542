import type { Cluster, Redis } from "ioredis";
import { defineScript, type RedisClient } from "../../core/redis/redis.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import { parsePositionToken } from "../../core/contracts/position.ts";
import type {
  BatchPacing,
  BatchTarget,
  OpsMessage,
  ProjectionStore,
} from "../../core/projection-store/port.ts";
import {
  APPLIED_KEY,
  clusterControlKeys,
  REPLAY_SOURCE,
  versionBase,
  versionPointerKey,
} from "../../core/read-models/keys.ts";
import { LUA_AFTER, LUA_LIVE_AHEAD } from "../runtime/lua.ts";
import { applyPreparedBatch, prepareOpsBatch, type PreparedBatch } from "../runtime/redis-batch.ts";
import { applyOpsBatchCluster, finishJournals } from "../runtime/cluster-batch.ts";

/**
 * The projection store on Redis: a single node (SingleRedisStore) or a Redis Cluster (ClusterRedisStore). Reads
 * and plain writes are the same commands on both (every one names one key); they differ in how a batch is
 * applied (one script, or one guarded script per slot: projectors/runtime/redis-batch.ts, cluster-batch.ts),
 * where the applied positions live, the version switch, and commands over many keys.
 */

/**
 * KEYS: the user's recent zset, then hashes → [the zset highest first WITHSCORES joined by "\n" into one string,
 * each hash's HGETALL]. One string instead of two per entry: ioredis parses each bulk string in JavaScript, and
 * the recent list holds up to RECKON_RECENT_CAP entries. Its members ("type:item_id") never hold whitespace
 * (core/contracts/event.ts); category names may, so the hashes (a few fields each) stay lists.
 */
const ZSET_AND_HASHES_SCRIPT = `
local out = {table.concat(redis.call('ZREVRANGE', KEYS[1], 0, -1, 'WITHSCORES'), '\\n')}
for i = 2, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out
`;

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

type ZsetAndHashes = (...keys: string[]) => Promise<[string, ...string[][]]>;

/** A SCAN MATCH pattern for "starts with `prefix`" (glob characters in the prefix escaped). */
const globEscape = (text: string) => text.replace(/[*?[\]\\]/g, "\\$&");
const prefixPattern = (prefix: string) => `${globEscape(prefix)}*`;

/** The live sources a switch hands the rebuild's position to: the given ones and those `from` stored. */
async function liveSources(client: RedisClient, applied: string, sources: readonly string[]) {
  const fields = new Set(sources);
  for (const f of await client.hkeys(applied)) if (f !== REPLAY_SOURCE) fields.add(f);
  return [...fields];
}

abstract class RedisStore implements ProjectionStore {
  abstract readonly kind: string;
  abstract readonly ordersOverlappingBatches: boolean;
  /** The zsetAndHashes script by its number of hashes (callers use one count: the read windows). */
  private readonly zsetAndHashesScripts = new Map<number, ZsetAndHashes>();

  constructor(readonly client: RedisClient) {}

  private zsetAndHashesScript(hashes: number): ZsetAndHashes {
    let script = this.zsetAndHashesScripts.get(hashes);
    if (script === undefined) {
      // A fixed key count: a cluster client routes (and auto-pipelines) the command by its declared keys.
      const name = `reckonZsetAndHashes${hashes}`;
      defineScript(this.client, name, { lua: ZSET_AND_HASHES_SCRIPT, numberOfKeys: 1 + hashes });
      const command = (this.client as unknown as Record<string, ZsetAndHashes>)[name]!;
      script = command.bind(this.client);
      this.zsetAndHashesScripts.set(hashes, script);
    }
    return script;
  }

  abstract applyOps<M>(
    target: BatchTarget,
    source: string,
    messages: readonly M[],
    decide: (part: readonly M[]) => OpsMessage[],
    pacing?: BatchPacing,
  ): Promise<void>;
  protected abstract appliedKey(target: BatchTarget, version: number): string;
  abstract switchVersion(
    target: Omit<BatchTarget, "version">,
    from: number,
    to: number,
    position: LogPosition,
    sources: readonly string[],
  ): Promise<boolean>;
  /** The nodes a SCAN must visit (a cluster's masters: each sees its own keys only). */
  protected abstract scanNodes(): Redis[];
  abstract del(keys: readonly string[]): Promise<void>;
  abstract setMany(entries: readonly (readonly [string, string])[]): Promise<void>;

  async appliedPosition(target: BatchTarget, source: string): Promise<LogPosition | undefined> {
    const version = target.version ?? (await this.currentVersion(target.prefix, target.projection));
    const token = await this.client.hget(this.appliedKey(target, version), source);
    return token === null ? undefined : parsePositionToken(token);
  }

  async currentVersion(prefix: string, projection: string): Promise<number> {
    const v = await this.client.get(versionPointerKey(prefix, projection));
    return v === null ? 1 : Number(v);
  }

  async keysByPrefix(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for (const node of this.scanNodes()) {
      let cursor = "0";
      do {
        const [next, found] = await node.scan(cursor, "MATCH", prefixPattern(prefix), "COUNT", 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
    }
    return keys.sort();
  }

  /** SCAN + UNLINK per node, so Redis is never blocked by one large command. */
  deleteByPrefix(prefix: string): Promise<number> {
    return this.deleteMatching(prefixPattern(prefix));
  }

  deleteTagged(prefix: string, tag: string): Promise<number> {
    return this.deleteMatching(`${globEscape(prefix)}:*${globEscape(tag)}*`);
  }

  private async deleteMatching(pattern: string): Promise<number> {
    let deleted = 0;
    for (const node of this.scanNodes()) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) deleted += await this.unlinkOnNode(node, keys);
      } while (cursor !== "0");
    }
    return deleted;
  }

  protected abstract unlinkOnNode(node: Redis, keys: string[]): Promise<number>;

  get(key: string) {
    return this.client.get(key);
  }
  hget(key: string, field: string) {
    return this.client.hget(key, field);
  }
  hmget(key: string, fields: readonly string[]) {
    return this.client.hmget(key, ...fields);
  }
  hgetall(key: string) {
    return this.client.hgetall(key);
  }
  zscore(key: string, member: string) {
    return this.client.zscore(key, member);
  }
  zmscore(key: string, members: readonly string[]) {
    return this.client.zmscore(key, ...members);
  }
  zrevrange(key: string, start: number, stop: number) {
    return this.client.zrevrange(key, start, stop);
  }
  zrevrangeWithScores(key: string, start: number, stop: number) {
    return this.client.zrevrange(key, start, stop, "WITHSCORES");
  }
  zrangeByScoreWithScores(key: string, min: number, limit: number) {
    return this.client.zrangebyscore(key, min, "+inf", "WITHSCORES", "LIMIT", 0, limit);
  }
  zsetAndHashes(zsetKey: string, hashKeys: readonly string[]) {
    return this.zsetAndHashesScript(hashKeys.length)(zsetKey, ...hashKeys);
  }
  async type(key: string) {
    return (await this.client.type(key)) as "string" | "hash" | "zset" | "set" | "none";
  }
  smembers(key: string) {
    return this.client.smembers(key);
  }
  pttl(key: string) {
    return this.client.pttl(key);
  }
  async set(key: string, value: string) {
    await this.client.set(key, value);
  }
  incr(key: string) {
    return this.client.incr(key);
  }
  async hset(key: string, fieldsAndValues: readonly string[]) {
    await this.client.hset(key, ...fieldsAndValues);
  }
  async sadd(key: string, members: readonly string[]) {
    await this.client.sadd(key, ...members);
  }
  async srem(key: string, members: readonly string[]) {
    await this.client.srem(key, ...members);
  }
  async healthy() {
    return (await this.client.ping()) === "PONG";
  }
  async flush() {
    // Redis's own persistence (RDB/AOF) decides what survives a restart of the server.
  }
  /** QUIT, so commands still queued finish first (a dropped Cluster client can fail their callbacks). */
  async close() {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** One Redis node: a batch is one script call (or several, within a time budget; script-budget.ts). */
export class SingleRedisStore extends RedisStore {
  readonly kind = "single Redis";
  readonly ordersOverlappingBatches = true;

  constructor(override readonly client: Redis) {
    super(client);
  }

  /**
   * Applies the messages in script calls that each fit the pacing's budget, one after another in log order: each
   * call is atomic and stores its own last position, so a kill between two calls leaves a prefix applied and the
   * redelivered batch applies only what follows it (applyPreparedBatch sends what lies after the stored
   * position). The next call is decided and encoded while Redis runs the current one.
   */
  async applyOps<M>(
    target: BatchTarget,
    source: string,
    messages: readonly M[],
    decide: (part: readonly M[]) => OpsMessage[],
    pacing?: BatchPacing,
  ): Promise<void> {
    let start = 0;
    const nextChunk = (): PreparedBatch | undefined => {
      if (start >= messages.length) return undefined;
      // next() is Infinity without a budget; slice clamps the end either way.
      const part = messages.slice(start, start + (pacing?.next() ?? Number.POSITIVE_INFINITY));
      start += part.length;
      return prepareOpsBatch(decide(part));
    };
    for (let prepared = nextChunk(); prepared !== undefined;) {
      const running = applyPreparedBatch(this.client, target, source, prepared);
      running.catch(() => undefined); // awaited below; a throw while preparing must not leave it unhandled
      prepared = nextChunk(); // decided and encoded while the script runs
      const result = await running;
      if (result.scriptMicros > 0) pacing?.observe(result.applied, result.scriptMicros);
    }
  }

  protected appliedKey(target: BatchTarget, version: number): string {
    return versionBase(target.prefix, target.ns, version) + APPLIED_KEY;
  }

  async switchVersion(
    target: Omit<BatchTarget, "version">,
    from: number,
    to: number,
    position: LogPosition,
    sources: readonly string[],
  ): Promise<boolean> {
    const oldApplied = this.appliedKey(target, from);
    const switched = await this.client.eval(
      SWITCH,
      0,
      versionPointerKey(target.prefix, target.projection),
      oldApplied,
      this.appliedKey(target, to),
      position.transactionId.toString(),
      String(position.position),
      String(to),
      ...(await liveSources(this.client, oldApplied, sources)),
    );
    return switched === 1;
  }

  protected scanNodes(): Redis[] {
    return [this.client];
  }

  protected unlinkOnNode(node: Redis, keys: string[]): Promise<number> {
    return node.unlink(...keys);
  }

  async del(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.unlink(...keys);
  }

  /** 500 SETs per pipeline. */
  async setMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (let start = 0; start < entries.length; start += 500) {
      const pipe = this.client.pipeline();
      for (let i = start; i < Math.min(start + 500, entries.length); i++)
        pipe.set(entries[i]![0], entries[i]![1]);
      const results = await pipe.exec();
      const failed = results?.find(([err]) => err);
      if (failed) throw failed[0]!;
    }
  }
}

/**
 * A Redis Cluster: a batch is resolved, journaled and applied slot by slot (cluster-batch.ts), in one call
 * whatever its size (its per-slot scripts each hold one node briefly, and splitting would cost a resolve and a
 * journal round trip per call while sparing nobody a wait). Commands over many keys go key by key: a cluster
 * refuses multi-key commands across slots.
 */
export class ClusterRedisStore extends RedisStore {
  readonly kind = "Redis Cluster";
  readonly ordersOverlappingBatches = false;

  constructor(override readonly client: Cluster) {
    super(client);
  }

  async applyOps<M>(
    target: BatchTarget,
    source: string,
    messages: readonly M[],
    decide: (part: readonly M[]) => OpsMessage[],
  ): Promise<void> {
    if (messages.length > 0) await applyOpsBatchCluster(this.client, target, source, decide(messages));
  }

  protected appliedKey(target: BatchTarget, version: number): string {
    return clusterControlKeys(target.prefix, target.ns, target.projection, version).applied;
  }

  async switchVersion(
    target: Omit<BatchTarget, "version">,
    from: number,
    to: number,
    position: LogPosition,
    sources: readonly string[],
  ): Promise<boolean> {
    const old = clusterControlKeys(target.prefix, target.ns, target.projection, from);
    const next = clusterControlKeys(target.prefix, target.ns, target.projection, to);
    const fields = await liveSources(this.client, old.applied, sources);
    for (;;) {
      const switched = await this.client.eval(
        CLUSTER_SWITCH,
        4,
        old.pointer,
        old.applied,
        next.applied,
        old.journal,
        position.transactionId.toString(),
        String(position.position),
        String(to),
        ...fields,
      );
      if (switched !== 2) return switched === 1;
      await finishJournals(this.client, target, from);
    }
  }

  protected scanNodes(): Redis[] {
    return this.client.nodes("master");
  }

  /** One key per UNLINK: a cluster refuses multi-key commands across slots, even on one node. */
  protected async unlinkOnNode(node: Redis, keys: string[]): Promise<number> {
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    let deleted = 0;
    for (const [err, n] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      deleted += Number(n);
    }
    return deleted;
  }

  async del(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => this.client.unlink(k)));
  }

  /**
   * The keys hash to every slot and a cluster pipeline must stay on one node, so the SETs go together (500 at a
   * time) and the client batches them per node.
   */
  async setMany(entries: readonly (readonly [string, string])[]): Promise<void> {
    for (let start = 0; start < entries.length; start += 500)
      await Promise.all(entries.slice(start, start + 500).map(([k, v]) => this.client.set(k, v)));
  }
}
