import type { LogPosition } from "../contracts/position.ts";

/**
 * The projection store: where the projectors' online read models live and what serving reads them from. Three
 * adapters implement it (projectors/store/open.ts picks one by URL): a single Redis (`redis://`, one Lua script
 * per batch), a Redis Cluster (`redis-cluster://`, one guarded script per slot) and an in-process store
 * (`memory://DIR`, for the embedded mode). Callers never ask which one they hold.
 *
 * The data model is Redis's: strings, hashes, sorted sets and sets under string keys, with key lifetimes. Keys
 * are absolute (`<prefix>:<ns>:v<version>:{u:42}:recent`); ops in a batch name keys relative to the version base,
 * which the store prepends (see projectors/runtime/keys.ts).
 */

/**
 * One effect of a log message on a read model (keys relative to the version base). The numeric arguments are
 * decimal strings, interpreted with Redis's number semantics (64-bit integers for hash increments, doubles for
 * sorted-set scores).
 */
export type Op =
  | ["zadd_gt", key: string, score: string, member: string]
  /** Keeps the set's `cap` highest-ranked members, once per batch after every write (the last cap wins). */
  | ["zcap", key: string, cap: string]
  | ["hincrby", key: string, field: string, by: string]
  | ["hmax", key: string, field: string, value: string]
  | ["zincrby", key: string, by: string, member: string]
  /** Sets the key's lifetime from the batch's clock, once per batch after every write (the last one wins). */
  | ["pexpire", key: string, ms: string]
  /** Sets the fields only when `version` is greater than the stored `v` field (an older write never wins). */
  | ["hset_newer", key: string, version: string, ...fieldsAndValues: string[]]
  /**
   * Runs `ops` once per category in the JSON array stored in `field` of `key`: in their fields `$c` stands for
   * the category and `$1`…`$9` for `args[0]`…`args[8]`. Inner ops may be `hincrby`, `zincrby` and `pexpire`.
   * `ops` is a template: pass the same array for every message that shares it (only `args` differ) and a batch
   * sends it once (see projectors/runtime/batch-encoding.ts).
   */
  | ["catfan", key: string, field: string, ops: readonly Op[], args?: readonly string[]]
  /**
   * Online co-occurrence: when `item` is new in the user history `histKey`, counts it once for every item
   * already there (both directions, in `{i:X}:nbrs`, capped at `nbrCap`) and once in `{i:item}:cnt`; then
   * records it (score `timeMs`) and trims the history to `histCap`.
   */
  | ["cooc", histKey: string, item: string, timeMs: string, histCap: string, nbrCap: string]
  /**
   * Takes co-occurrence back or gives it again (a retraction's undo, projectors/recommendations/undo.ts): ZINCRBY
   * `by`; a member whose score falls to 0 or below is removed (a count of nothing is no entry), a member that is
   * new is trimmed to `cap` as `cooc`'s increments are. Order-dependent: kept in log order.
   */
  | ["zincrby_drop", key: string, by: string, member: string, cap: string]
  /** HINCRBY; a field whose value falls to 0 or below is removed (and an emptied hash with it). Kept in log order. */
  | ["hincrby_drop", key: string, field: string, by: string]
  /** INCRBY on a string key; the key is deleted when its value falls to 0 or below. Kept in log order. */
  | ["incrby_drop", key: string, by: string]
  /** Replaces a sorted set by these members (none: deletes the key). Kept in log order. */
  | ["zreplace", key: string, ...scoresAndMembers: string[]]
  /** Replaces a hash by these fields (none: deletes the key). Kept in log order. */
  | ["hreplace", key: string, ...fieldsAndValues: string[]];

export interface OpsMessage {
  position: LogPosition;
  ops: Op[];
}

/** Which projection (and version) a batch writes. */
export interface BatchTarget {
  prefix: string;
  ns: string;
  projection: string;
  /** Write into this version instead of the one the pointer names (rebuilds). */
  version?: number;
}

/**
 * How many messages one store call may carry (a single Redis holds every other client while a script runs;
 * see projectors/runtime/script-budget.ts). Stores that hold nobody up ignore it.
 */
export interface BatchPacing {
  /** Messages the next call may carry (Infinity: all). */
  next(): number;
  /** What the last call cost (messages applied, µs the store spent). */
  observe(applied: number, micros: number): void;
}

export interface ProjectionStore {
  /** What the store runs on, for start-up logs ("single Redis", "Redis Cluster", "in-process"). */
  readonly kind: string;

  // ---- writes of the projections ----

  /**
   * Applies the effects of `messages` (in log order) to `target`, idempotently: a message at or below the
   * position stored for `source` (topic:partition, or "log" for a rebuild) is skipped, the rest are applied and
   * the last position stored with them. `decide` turns a contiguous part of `messages` into their ops (pure;
   * called once per message). Resolves once the effects are durable as far as the store goes.
   */
  applyOps<M>(
    target: BatchTarget,
    source: string,
    messages: readonly M[],
    decide: (part: readonly M[]) => OpsMessage[],
    pacing?: BatchPacing,
  ): Promise<void>;
  /**
   * Whether an applyOps started before the previous one resolved is still applied after it (one call on one
   * ordered connection), so a rebuild may overlap them. False when a batch takes several round trips.
   */
  readonly ordersOverlappingBatches: boolean;
  /** The position stored for `source` in the current version (or `target.version`). */
  appliedPosition(target: BatchTarget, source: string): Promise<LogPosition | undefined>;
  /**
   * The version the live consumer writes, and readers read unless pinned to a checkpoint (1 when never
   * switched; the pin is plain keys, see projectors/runtime/version-pin.ts).
   */
  currentVersion(prefix: string, projection: string): Promise<number>;
  /**
   * Moves readers and the live consumer from `from` to `to` in one atomic step, unless a live source of `from`
   * applied past `position` (then false: the rebuild reads on). The new version records `position` for every
   * live source (`sources` plus those stored in `from`, but the rebuild's).
   */
  switchVersion(
    target: Omit<BatchTarget, "version">,
    from: number,
    to: number,
    position: LogPosition,
    sources: readonly string[],
  ): Promise<boolean>;
  /** Deletes every key starting with `prefix`; returns how many. */
  deleteByPrefix(prefix: string): Promise<number>;
  /**
   * Deletes every key under `prefix` (`<prefix>:…`, any namespace and version) whose name holds the hash tag
   * `tag` (`{u:42}`): all of one entity's keys, e.g. to erase a user. Returns how many. Scans the keyspace, so
   * it is for rare commands, not request paths.
   */
  deleteTagged(prefix: string, tag: string): Promise<number>;
  /** Every key starting with `prefix`, sorted (tests, tools; not for request paths). */
  keysByPrefix(prefix: string): Promise<string[]>;

  // ---- reads (serving's hot path: one call, one command) ----

  get(key: string): Promise<string | null>;
  hget(key: string, field: string): Promise<string | null>;
  hmget(key: string, fields: readonly string[]): Promise<(string | null)[]>;
  hgetall(key: string): Promise<Record<string, string>>;
  zscore(key: string, member: string): Promise<string | null>;
  zmscore(key: string, members: readonly string[]): Promise<(string | null)[]>;
  /** Members by rank, highest first (ZREVRANGE; `stop` -1 = to the end). */
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  /** As zrevrange, as a flat list member, score, member, score… */
  zrevrangeWithScores(key: string, start: number, stop: number): Promise<string[]>;
  /** Members with `min` ≤ score, lowest first, at most `limit`, as a flat list member, score… */
  zrangeByScoreWithScores(key: string, min: number, limit: number): Promise<string[]>;
  /**
   * One sorted set (highest first, with scores, joined into one string by "\n") and the fields of several hashes
   * (each flat field, value…), in one command: serving reads a user's state this way on every request.
   */
  zsetAndHashes(zsetKey: string, hashKeys: readonly string[]): Promise<[string, ...string[][]]>;
  type(key: string): Promise<"string" | "hash" | "zset" | "set" | "none">;
  /** The key's remaining lifetime in ms (PTTL): -1 none set, -2 no such key. */
  pttl(key: string): Promise<number>;
  smembers(key: string): Promise<string[]>;

  // ---- plain writes (the batch model artifact) ----

  set(key: string, value: string): Promise<void>;
  /** Many SETs; no atomicity across keys (the artifact's readers rely on write order, not atomicity). */
  setMany(entries: readonly (readonly [key: string, value: string])[]): Promise<void>;
  incr(key: string): Promise<number>;
  hset(key: string, fieldsAndValues: readonly string[]): Promise<void>;
  sadd(key: string, members: readonly string[]): Promise<void>;
  srem(key: string, members: readonly string[]): Promise<void>;
  /** Deletes keys one by one (no atomicity across keys). */
  del(keys: readonly string[]): Promise<void>;

  // ---- lifecycle ----

  /** Whether the store answers (a Redis PING); asked after repeated apply failures. */
  healthy(): Promise<boolean>;
  /** Makes everything acknowledged so far survive a restart, as the adapter can (a snapshot in process). */
  flush(): Promise<void>;
  /** Finishes queued commands, flushes and releases the store. */
  close(): Promise<void>;
}
