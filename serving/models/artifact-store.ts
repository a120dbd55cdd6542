import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { asProjectionStore } from "../../projectors/store/open.ts";
import type { ModelArtifact } from "../recommender/artifact.ts";
import type { ItemId, Neighbour, ScoredItem, UserId } from "../recommender/types.ts";
import { itemTag, userTag } from "../../core/read-models/keys.ts";

/**
 * The batch model artifact (per-item top-K neighbours, per-item bias, popularity list) published to Redis as an
 * immutable, numbered version:
 *
 *   <prefix>:model:<v>:{i:42}:nbrs   string, JSON [[item_id, weight], ...] best first
 *   <prefix>:model:<v>:{i:42}:next   string, JSON [[item_id, score], ...]: what users took right after the item,
 *                                    best first (absent in versions published before followers existed)
 *   <prefix>:model:<v>:{u:7}:cands  string, JSON [[item_id, score], ...]: the user's precomputed top-M, best first
 *   <prefix>:model:<v>:bias          hash item_id → bias (one key: read with one HMGET per request)
 *   <prefix>:model:<v>:popular       string, JSON [[item_id, score], ...] best first
 *   <prefix>:model:<v>:meta          string, JSON { model, params, items, users, trained_through, published_at }
 *   <prefix>:model:seq               counter that numbers artifact versions
 *   <prefix>:model:active            the artifact version serving reads: set when an artifact is published (a
 *                                    fresher batch model is better whatever the ranker) and when a ranking model is
 *                                    activated (a rollback restores the pair it was evaluated with)
 *   <prefix>:model:versions          set of published versions still stored (pruneArtifacts keeps it bounded)
 *
 * Versions never change once published, so readers cache them in process without invalidation.
 *
 * Kept in the projection store (any adapter): every command names one key (the per-item and per-user keys carry
 * their entity's hash tag, like the projections' keys), so nothing here needs a MULTI or a multi-key command. What keeps a
 * reader from seeing half an artifact is the order, not atomicity: a version's keys are all written (and
 * acknowledged, whatever node holds them) before anything can point at it, and `active` is one key flipped
 * last. Pruning drops only versions nothing points at (see pruneArtifacts).
 */
export const artifactKeys = {
  neighbours: (prefix: string, v: number, item: ItemId) => `${prefix}:model:${v}:${itemTag(item)}:nbrs`,
  followers: (prefix: string, v: number, item: ItemId) => `${prefix}:model:${v}:${itemTag(item)}:next`,
  userCandidates: (prefix: string, v: number, user: UserId) => `${prefix}:model:${v}:${userTag(user)}:cands`,
  bias: (prefix: string, v: number) => `${prefix}:model:${v}:bias`,
  popular: (prefix: string, v: number) => `${prefix}:model:${v}:popular`,
  meta: (prefix: string, v: number) => `${prefix}:model:${v}:meta`,
  seq: (prefix: string) => `${prefix}:model:seq`,
  active: (prefix: string) => `${prefix}:model:active`,
  versions: (prefix: string) => `${prefix}:model:versions`,
};

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Writes each list as a JSON string `[[item_id, score], ...]` under `keyOf(id)`, 500 at a time. */
async function setScoredLists(
  store: ProjectionStore,
  lists: ReadonlyMap<string, readonly { item_id: string; score: number }[]>,
  keyOf: (id: string) => string,
): Promise<void> {
  const entries = [...lists];
  const encode = (list: readonly { item_id: string; score: number }[]) =>
    JSON.stringify(list.map((n) => [n.item_id, round(n.score)]));
  for (let start = 0; start < entries.length; start += 500)
    await store.setMany(
      entries.slice(start, start + 500).map(([id, list]) => [keyOf(id), encode(list)] as const),
    );
}

/** What serving needs besides the lists: when the training data ends (event time, ms). */
export interface ArtifactMeta {
  /** The latest event time the model was trained on; a user's items touched later are added at read time. */
  trainedThrough: number;
}

/**
 * Writes a new artifact version and returns its number; it is not served until activateArtifact points at it.
 * `meta` is written last: a version with meta is complete (`reckon model activate` checks it).
 */
export async function publishArtifact(
  to: ProjectionStore | RedisClient,
  prefix: string,
  artifact: ModelArtifact,
  meta: ArtifactMeta = { trainedThrough: 0 },
): Promise<number> {
  const store = asProjectionStore(to);
  const v = await store.incr(artifactKeys.seq(prefix));
  await store.sadd(artifactKeys.versions(prefix), [String(v)]);
  await setScoredLists(store, artifact.neighbours, (item) => artifactKeys.neighbours(prefix, v, item));
  await setScoredLists(store, artifact.followers ?? new Map(), (item) =>
    artifactKeys.followers(prefix, v, item),
  );
  await setScoredLists(store, artifact.userCandidates ?? new Map(), (user) =>
    artifactKeys.userCandidates(prefix, v, user),
  );
  const bias = [...artifact.itemBias].flatMap(([id, b]) => [id, String(b)]);
  for (let start = 0; start < bias.length; start += 2000)
    await store.hset(artifactKeys.bias(prefix, v), bias.slice(start, start + 2000));
  await store.set(
    artifactKeys.popular(prefix, v),
    JSON.stringify(artifact.popular.slice(0, 2000).map((p) => [p.item_id, p.score])),
  );
  await store.set(
    artifactKeys.meta(prefix, v),
    JSON.stringify({
      model: artifact.model,
      params: artifact.params,
      items: artifact.neighbours.size,
      users: artifact.userCandidates?.size ?? 0,
      ...(artifact.followers && { followers: artifact.followers.size }),
      trained_through: meta.trainedThrough,
      published_at: new Date().toISOString(),
    }),
  );
  return v;
}

/**
 * Deletes every stored artifact version not in `keep` (per-user lists make each version as large as the user
 * base, so versions must not pile up with periodic retraining). One scan over the artifact namespace.
 *
 * Never dropped, whatever `keep` says: the version `active` names when the prune starts (a reader may select
 * it), and versions newer than every kept one (another trainer may be publishing one: its number is taken before
 * its keys are written). A version is removed from the versions set before its keys, so a crash midway leaves
 * orphan keys of a version nothing lists, never a listed version with missing keys.
 */
export async function pruneArtifacts(
  from: ProjectionStore | RedisClient,
  prefix: string,
  keep: Iterable<number>,
): Promise<number[]> {
  const store = asProjectionStore(from);
  const kept = new Set([...keep].map(String));
  const active = await store.get(artifactKeys.active(prefix));
  if (active !== null) kept.add(active);
  const newestKept = Math.max(...[...kept].map(Number).filter(Number.isFinite));
  const stored = await store.smembers(artifactKeys.versions(prefix));
  const drop = new Set(stored.filter((v) => !kept.has(v) && !(Number(v) > newestKept)));
  if (drop.size === 0) return [];
  await store.srem(artifactKeys.versions(prefix), [...drop]);
  const base = `${prefix}:model:`;
  const keys = await store.keysByPrefix(base);
  const doomed = keys.filter((k) => drop.has(k.slice(base.length, k.indexOf(":", base.length))));
  for (let start = 0; start < doomed.length; start += 1000)
    await store.del(doomed.slice(start, start + 1000));
  return [...drop].map(Number).sort((a, b) => a - b);
}

/** Makes `v` the artifact serving reads (it must be fully published): one key, so atomic on a cluster too. */
export async function activateArtifact(
  to: ProjectionStore | RedisClient,
  prefix: string,
  v: number,
): Promise<void> {
  await asProjectionStore(to).set(artifactKeys.active(prefix), String(v));
}

/**
 * Reads artifact versions through an in-process cache (safe: versions are immutable). Caches are per version
 * (version → item → value), so a lookup is two map reads and no key string is built per item per request.
 */
export class ArtifactReader {
  private readonly neighbourCache = new Map<number, Map<ItemId, readonly Neighbour[] | null>>();
  private readonly followerCache = new Map<number, Map<ItemId, readonly Neighbour[] | null>>();
  private readonly biasCache = new Map<number, Map<ItemId, number | null>>();
  private readonly popularCache = new Map<number, readonly ScoredItem[]>();
  private readonly metaCache = new Map<number, Promise<ArtifactMeta | undefined>>();
  private active: { version: number | null; until: number } | undefined;
  private activeRead: Promise<number | null> | undefined;

  private readonly store: ProjectionStore;

  constructor(
    store: ProjectionStore | RedisClient,
    private readonly prefix: string,
    private readonly maxCachedEntries = 200_000,
  ) {
    this.store = asProjectionStore(store);
  }

  private cacheFor<V>(caches: Map<number, Map<ItemId, V>>, v: number): Map<ItemId, V> {
    let cache = caches.get(v);
    if (!cache) {
      // Serving uses one or two versions at a time (the active one, the previous during a swap).
      if (caches.size >= 4) caches.clear();
      cache = new Map();
      caches.set(v, cache);
    }
    // Crude but bounded: an artifact far larger than the cache just means more store reads.
    if (cache.size > this.maxCachedEntries) cache.clear();
    return cache;
  }

  neighbours(v: number, items: readonly ItemId[]): Promise<Map<ItemId, readonly Neighbour[]>> {
    return this.itemLists(this.neighbourCache, artifactKeys.neighbours, v, items);
  }

  /** What users took right after each item (none for items without a list, or versions published without). */
  followers(v: number, items: readonly ItemId[]): Promise<Map<ItemId, readonly Neighbour[]>> {
    return this.itemLists(this.followerCache, artifactKeys.followers, v, items);
  }

  private async itemLists(
    caches: Map<number, Map<ItemId, readonly Neighbour[] | null>>,
    keyOf: (prefix: string, v: number, item: ItemId) => string,
    v: number,
    items: readonly ItemId[],
  ): Promise<Map<ItemId, readonly Neighbour[]>> {
    const cache = this.cacheFor(caches, v);
    const out = new Map<ItemId, readonly Neighbour[]>();
    let missing: ItemId[] | undefined;
    for (const id of items) {
      const cached = cache.get(id);
      if (cached === undefined) (missing ??= []).push(id);
      else if (cached) out.set(id, cached);
    }
    if (missing) {
      const raw = await Promise.all(missing.map((id) => this.store.get(keyOf(this.prefix, v, id))));
      missing.forEach((id, i) => {
        const list = raw[i]
          ? (JSON.parse(raw[i]) as [string, number][]).map(([item_id, score]) => ({ item_id, score }))
          : null;
        cache.set(id, list);
        if (list) out.set(id, list);
      });
    }
    return out;
  }

  async bias(v: number, items: readonly ItemId[]): Promise<Map<ItemId, number>> {
    const cache = this.cacheFor(this.biasCache, v);
    const out = new Map<ItemId, number>();
    let missing: ItemId[] | undefined;
    for (const id of items) {
      const cached = cache.get(id);
      if (cached === undefined) (missing ??= []).push(id);
      else if (cached !== null) out.set(id, cached);
    }
    if (missing) {
      const raw = await this.store.hmget(artifactKeys.bias(this.prefix, v), missing);
      missing.forEach((id, i) => {
        const b = raw[i] === null || raw[i] === undefined ? null : Number(raw[i]);
        cache.set(id, b);
        if (b !== null) out.set(id, b);
      });
    }
    return out;
  }

  /**
   * The artifact version serving reads (`<prefix>:model:active`), re-read at most every `ms`; null when none is
   * set. A failed read keeps the last known version.
   */
  async activeVersion(ms = 1000): Promise<number | null> {
    const now = Date.now();
    if (this.active && now < this.active.until) return this.active.version;
    this.activeRead ??= this.store
      .get(artifactKeys.active(this.prefix))
      .then((raw) => {
        const version = raw === null ? null : Number(raw);
        this.active = { version, until: Date.now() + ms };
        return version;
      })
      .catch((err: unknown) => {
        if (this.active) return this.active.version;
        throw err;
      })
      .finally(() => (this.activeRead = undefined));
    return this.activeRead;
  }

  /** The artifact's meta (cached: versions are immutable); undefined when the version does not exist. */
  meta(v: number): Promise<ArtifactMeta | undefined> {
    let meta = this.metaCache.get(v);
    if (!meta) {
      if (this.metaCache.size >= 16) this.metaCache.clear();
      meta = this.store.get(artifactKeys.meta(this.prefix, v)).then((raw) => {
        if (raw === null) return undefined;
        const parsed = JSON.parse(raw) as { trained_through?: number };
        return { trainedThrough: parsed.trained_through ?? 0 };
      });
      // A failed read is not cached: the next request asks again.
      meta.catch(() => this.metaCache.delete(v));
      this.metaCache.set(v, meta);
    }
    return meta;
  }

  /** The user's precomputed list (one read per request: per-user lists are not cached in process). */
  async userCandidates(v: number, user: UserId): Promise<ScoredItem[] | undefined> {
    const raw = await this.store.get(artifactKeys.userCandidates(this.prefix, v, user));
    if (raw === null) return undefined;
    return (JSON.parse(raw) as [string, number][]).map(([item_id, score]) => ({ item_id, score }));
  }

  async popular(v: number): Promise<readonly ScoredItem[]> {
    let list = this.popularCache.get(v);
    if (!list) {
      const raw = await this.store.get(artifactKeys.popular(this.prefix, v));
      list = raw
        ? (JSON.parse(raw) as [string, number][]).map(([item_id, score]) => ({ item_id, score }))
        : [];
      this.popularCache.set(v, list);
    }
    return list;
  }
}
