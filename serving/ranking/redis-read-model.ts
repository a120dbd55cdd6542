import type { ReadModel, UserCandidates } from "../recommender/read-model.ts";
import type { ItemId, ItemInfo, Neighbour, ScoredItem, UserId } from "../recommender/types.ts";
import type { FeaturesReader, RecentEvent } from "../../projectors/features/read.ts";
import type { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import type { ArtifactReader } from "../models/artifact-store.ts";

export interface RedisReadModelOptions {
  features: FeaturesReader;
  recommendations: RecommendationsReader;
  artifacts: ArtifactReader;
  /**
   * How long catalog facts, trending lists and online neighbour lists are reused in process (ms). They are
   * projections of the log, already eventually consistent; 0 reads Redis on every call.
   */
  cacheMs?: number;
  /**
   * How long catalog facts (availability, categories) are reused (ms). Changes are not waited out: every
   * `cacheMs` the catalog index is polled for entries changed since the last poll (minus CATALOG_LOOKBACK_MS)
   * and those items are dropped from the cache, so this bound only matters for a change the index cannot show
   * (an update whose `updated_at` is older than the lookback). Default 10·cacheMs.
   */
  catalogCacheMs?: number;
  /** Neighbours read per item from the online co-occurrence projection. */
  onlineNeighbours?: number;
  /**
   * Users whose precomputed artifact list is kept in process (per artifact version; 0: read it per request).
   * Versions are immutable, so a kept list is never out of date; the user's clicks since training are read per
   * request anyway (`newSeeds`). Default 10,000 (a list is ~100 entries, ≈ 6 KB).
   */
  userListCacheEntries?: number;
}

/**
 * A time-bounded cache that refreshes without making requests wait: an entry is fresh for `ms`, then served
 * stale for another `ms` while ONE background read (batched over every key that went stale in the same turn of
 * the event loop) replaces it; only keys never seen, or unseen for 2·`ms`, are read while the caller waits.
 * Concurrent callers missing the same key share one read. So values are at most about 2·`ms` old, and a busy
 * server's requests almost never wait on Redis for them.
 */
class RefreshingCache<V> {
  private readonly entries = new Map<string, { value: V | null; until: number }>();
  private readonly inflight = new Map<string, Promise<void>>();
  private stale = new Set<string>();
  private flushScheduled = false;

  constructor(
    private readonly ms: number,
    /** Reads several keys at once; keys absent from the result are cached as absent. */
    private readonly load: (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>,
    private readonly maxEntries = 200_000,
  ) {}

  /** Forgets `keys`: the next lookup reads them while the caller waits. */
  invalidate(keys: Iterable<string>): void {
    for (const k of keys) this.entries.delete(k);
  }

  /**
   * The values of `keys` that exist, in one map (absent keys left out): a request asks for ~100 keys at once,
   * so this builds a single map and no per-key wrapper.
   */
  async getMany(keys: readonly string[]): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    if (this.ms <= 0) {
      const loaded = await this.load(keys);
      for (const k of keys) {
        const v = loaded.get(k);
        if (v !== undefined) out.set(k, v);
      }
      return out;
    }
    const now = Date.now();
    let missing: string[] | undefined;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e && now < e.until + this.ms) {
        if (e.value !== null) out.set(k, e.value);
        if (now >= e.until) this.markStale(k);
      } else (missing ??= []).push(k);
    }
    if (missing) {
      await this.fetch(missing);
      for (const k of missing) {
        const v = this.entries.get(k)?.value;
        if (v !== undefined && v !== null) out.set(k, v);
      }
    }
    return out;
  }

  private markStale(key: string): void {
    if (this.inflight.has(key)) return;
    this.stale.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const keys = [...this.stale];
      this.stale = new Set();
      void this.fetch(keys).catch(() => undefined); // the stale value keeps serving; the next request retries
    });
  }

  private fetch(keys: readonly string[]): Promise<unknown> {
    const waits: Promise<void>[] = [];
    const todo: string[] = [];
    for (const k of keys) {
      const p = this.inflight.get(k);
      if (p) waits.push(p);
      else todo.push(k);
    }
    if (todo.length > 0) {
      const p = this.load(todo)
        .then((loaded) => {
          if (this.entries.size > this.maxEntries) this.entries.clear();
          const until = Date.now() + this.ms;
          for (const k of todo) this.entries.set(k, { value: loaded.get(k) ?? null, until });
        })
        .finally(() => {
          for (const k of todo) this.inflight.delete(k);
        });
      for (const k of todo) this.inflight.set(k, p);
      waits.push(p);
    }
    return Promise.all(waits);
  }
}

/**
 * Catalog changes are found by their `updated_at` (the catalog index's score): each poll reads the entries
 * updated since this long before the previous poll, so a change is seen if it reaches Redis no later than this
 * after its `updated_at` (projection lag, producers' clocks). Later ones wait for catalogCacheMs.
 */
const CATALOG_LOOKBACK_MS = 5000;

/**
 * The production ReadModel: the projectors' Redis read models (recent items, trending, catalog, online
 * co-occurrence neighbours) plus the active batch artifact. `at(artifactVersion)` fixes the artifact for one
 * request, so a model swap mid-request cannot mix two versions; `forRequest(history)` reuses the history the
 * request already read instead of reading it again.
 */
export class RedisReadModel {
  private readonly itemCache: RefreshingCache<ItemInfo>;
  private readonly lists = new Map<
    string,
    { value: readonly ScoredItem[] | undefined; until: number; refreshing: Promise<void> | undefined }
  >();
  private readonly onlineCache: RefreshingCache<readonly Neighbour[]>;
  /** Slices of immutable artifact popularity lists, so per-request rank maps can be cached by list identity. */
  private readonly popularSlices = new Map<string, readonly ScoredItem[]>();

  /** Precomputed user lists of one artifact version (null: the version has none for the user), oldest first. */
  private userLists: { version: number; lists: Map<UserId, readonly ScoredItem[] | null> } | undefined;

  /** When the previous catalog poll started (ms); undefined before the first. */
  private lastCatalogPoll: number | undefined;
  /** Changes already acted on (item → updated_at), within the lookback window, so a poll drops each only once. */
  private readonly seenChanges = new Map<ItemId, number>();
  private nextCatalogPoll = 0;
  private catalogPoll: Promise<void> | undefined;

  constructor(readonly options: RedisReadModelOptions) {
    const ms = options.cacheMs ?? 1000;
    this.itemCache = new RefreshingCache<ItemInfo>(ms > 0 ? (options.catalogCacheMs ?? 10 * ms) : 0, (ids) =>
      options.features.getItemFacts(ids),
    );
    this.onlineCache = new RefreshingCache<readonly Neighbour[]>(ms, async (ids) => {
      const lists = await Promise.all(
        ids.map((id) => options.recommendations.getNeighbours(id, options.onlineNeighbours ?? 50)),
      );
      const out = new Map<ItemId, readonly Neighbour[]>();
      ids.forEach((id, i) => {
        const list = lists[i]!.map(({ item_id, score }) => ({ item_id, score }));
        if (list.length > 0) out.set(id, list);
      });
      return out;
    });
  }

  /**
   * The artifact's popularity list cut to `limit`, the same array for the same (version, limit); undefined when
   * the artifact has no popularity list.
   */
  async artifactPopular(v: number, limit: number): Promise<readonly ScoredItem[] | undefined> {
    const key = `${v}:${limit}`;
    const cached = this.popularSlices.get(key);
    if (cached) return cached;
    const full = await this.options.artifacts.popular(v);
    if (full.length === 0) return undefined;
    const list = full.slice(0, limit);
    if (this.popularSlices.size > 1000) this.popularSlices.clear();
    this.popularSlices.set(key, list);
    return list;
  }

  /** The batch artifact serving reads now (`<prefix>:model:active`), or null when none is published. */
  activeArtifact(): Promise<number | null> {
    return this.options.artifacts.activeVersion(this.options.cacheMs ?? 1000);
  }

  /** `recent`: the request's already-read interactions (most recent first), to find items newer than the model. */
  at(
    artifactVersion: number | null,
    history?: readonly ItemId[],
    recent?: readonly RecentEvent[],
    userList?: PrefetchedUserList,
  ): VersionedReadModel {
    return new VersionedReadModel(this, artifactVersion, history, recent, userList);
  }

  /**
   * Starts reading the artifact's precomputed list for `userId` now, so the command joins the same
   * auto-pipelined write as the request's user-features read: one Redis round trip per request instead of two.
   * Pass the result to `at()`. A failure surfaces where the list is used (never as an unhandled rejection).
   */
  prefetchUserList(artifactVersion: number | null, userId: UserId): PrefetchedUserList | undefined {
    if (artifactVersion === null) return undefined;
    const max = this.options.userListCacheEntries ?? 10_000;
    if (max <= 0) {
      const list = this.options.artifacts.userCandidates(artifactVersion, userId);
      list.catch(() => undefined);
      return { userId, list };
    }
    if (this.userLists?.version !== artifactVersion)
      this.userLists = { version: artifactVersion, lists: new Map() }; // a new version: the old lists are moot
    const lists = this.userLists.lists;
    const kept = lists.get(userId);
    if (kept !== undefined) return { userId, list: Promise.resolve(kept ?? undefined) };
    const list = this.options.artifacts.userCandidates(artifactVersion, userId);
    list.then(
      (read) => {
        if (this.userLists?.lists !== lists) return;
        // Oldest out first (insertion order): bounded memory, no per-hit bookkeeping.
        if (lists.size >= max) lists.delete(lists.keys().next().value!);
        lists.set(userId, read ?? null);
      },
      () => undefined,
    );
    return { userId, list };
  }

  async onlineNeighbours(items: readonly ItemId[]): Promise<Map<ItemId, readonly Neighbour[]>> {
    return this.onlineCache.getMany(items);
  }

  /**
   * Decayed popularity over all items (`category` undefined) or one category, best first. Lists are costly to
   * compute (several windows, thousands of scores) and change slowly: one refresh at a time per list, and
   * requests keep using the previous list while it runs (stale-while-revalidate), so an expiry never stalls
   * a burst of concurrent requests.
   */
  async trending(
    category: string | undefined,
    limit: number,
    horizon: "short" | "long",
  ): Promise<readonly ScoredItem[]> {
    const fetch = () => this.options.features.getTrending(category, limit, horizon);
    if ((this.options.cacheMs ?? 1000) <= 0) return fetch();
    const key = `${horizon}:${category ?? ""}:${limit}`;
    let entry = this.lists.get(key);
    if (!entry) {
      entry = { value: undefined, until: 0, refreshing: undefined };
      this.lists.set(key, entry);
    }
    const e = entry;
    if (e.until <= Date.now() && !e.refreshing) {
      e.refreshing = fetch()
        .then((value) => {
          e.value = value;
          e.until = Date.now() + (this.options.cacheMs ?? 1000);
        })
        .finally(() => (e.refreshing = undefined));
      // A failed background refresh must not crash the process: the previous list keeps serving and the next
      // request retries; a request that has no list yet awaits the same promise below and sees the error.
      e.refreshing.catch(() => undefined);
    }
    if (e.value === undefined) await e.refreshing;
    return e.value ?? [];
  }

  /**
   * Drops catalog facts of items changed since the last poll, at most once per `cacheMs` and never twice at
   * once; requests wait for a poll in flight, so a change the poll has seen is never served stale.
   */
  private watchCatalog(): Promise<void> | undefined {
    const ms = this.options.cacheMs ?? 1000;
    if (ms <= 0) return undefined;
    const now = Date.now();
    if (!this.catalogPoll && now >= this.nextCatalogPoll) {
      this.nextCatalogPoll = now + ms;
      const first = this.lastCatalogPoll === undefined;
      const since = (this.lastCatalogPoll ?? now) - CATALOG_LOOKBACK_MS;
      this.lastCatalogPoll = now;
      this.catalogPoll = this.options.features
        .getCatalogChanges(since)
        .then((changes) => {
          const fresh = changes.filter((c) => this.seenChanges.get(c.item_id) !== c.updatedAt);
          // Before the first poll nothing is cached from an older state of these items.
          if (!first) this.itemCache.invalidate(fresh.map((c) => c.item_id));
          for (const c of fresh) this.seenChanges.set(c.item_id, c.updatedAt);
          for (const [id, t] of this.seenChanges) if (t < since) this.seenChanges.delete(id);
        })
        .catch(() => {
          this.nextCatalogPoll = 0; // Redis hiccup: the next request polls again
        })
        .finally(() => (this.catalogPoll = undefined));
    }
    return this.catalogPoll;
  }

  async itemInfo(items: readonly ItemId[]): Promise<Map<ItemId, ItemInfo>> {
    const poll = this.watchCatalog();
    if (poll) await poll;
    return this.itemCache.getMany(items);
  }
}

/** A precomputed user list read ahead (RedisReadModel.prefetchUserList). */
export interface PrefetchedUserList {
  userId: UserId;
  list: Promise<readonly ScoredItem[] | undefined>;
}

/** The ReadModel recommend() sees for one request (one artifact version, the request's history). */
export class VersionedReadModel implements ReadModel {
  constructor(
    private readonly base: RedisReadModel,
    readonly artifactVersion: number | null,
    private readonly history?: readonly ItemId[],
    private readonly recent?: readonly RecentEvent[],
    private readonly userList?: PrefetchedUserList,
  ) {}

  /**
   * The artifact's precomputed list for the user, and the user's items newer (by event time) than the data the
   * artifact was trained on. An event backfilled with an older time than that is not seen as new: it joins
   * the user's list at the next training.
   */
  async userCandidates(userId: UserId): Promise<UserCandidates | undefined> {
    if (this.artifactVersion === null) return undefined;
    const { artifacts, features } = this.base.options;
    const prefetched = this.userList?.userId === userId ? this.userList.list : undefined;
    const [items, meta] = await Promise.all([
      prefetched ?? artifacts.userCandidates(this.artifactVersion, userId),
      artifacts.meta(this.artifactVersion),
    ]);
    if (!items || !meta) return undefined;
    const recent = this.recent ?? (await features.getRecentEvents(userId, 1000));
    const newSeeds: ItemId[] = [];
    const seen = new Set<ItemId>();
    for (const r of recent) {
      if (r.atMs <= meta.trainedThrough) break; // most recent first: the rest is older still
      if (!seen.has(r.item_id)) newSeeds.push(r.item_id);
      seen.add(r.item_id);
    }
    return { items, newSeeds };
  }

  async userHistory(userId: UserId, limit?: number): Promise<readonly ItemId[]> {
    const history = this.history ?? (await this.base.options.features.getRecentItems(userId, limit ?? 100));
    return limit === undefined ? history : history.slice(0, limit);
  }

  /** Batch-model lists first; items the batch model has never seen (new items) use online co-occurrence. */
  async itemNeighbours(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, readonly Neighbour[]>> {
    const found =
      this.artifactVersion === null
        ? new Map<ItemId, readonly Neighbour[]>()
        : await this.base.options.artifacts.neighbours(this.artifactVersion, itemIds);
    const missing = itemIds.filter((id) => !found.has(id));
    if (missing.length > 0)
      for (const [id, list] of await this.base.onlineNeighbours(missing)) found.set(id, list);
    return found;
  }

  /** What users took right after each item, from the batch artifact (none before the first training). */
  async itemFollowers(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, readonly Neighbour[]>> {
    if (this.artifactVersion === null) return new Map();
    return this.base.options.artifacts.followers(this.artifactVersion, itemIds);
  }

  async itemBias(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, number>> {
    if (this.artifactVersion === null) return new Map();
    return this.base.options.artifacts.bias(this.artifactVersion, itemIds);
  }

  async popularItems(limit: number): Promise<readonly ScoredItem[]> {
    if (this.artifactVersion !== null) {
      const list = await this.base.artifactPopular(this.artifactVersion, limit);
      if (list) return list;
    }
    return this.base.trending(undefined, limit, "long");
  }

  async trendingItems(limit: number): Promise<readonly ScoredItem[]> {
    return this.base.trending(undefined, limit, "short");
  }

  trendingIn(category: string, limit: number): Promise<readonly ScoredItem[]> {
    return this.base.trending(category, limit, "long");
  }

  itemInfo(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, ItemInfo>> {
    return this.base.itemInfo(itemIds);
  }
}
