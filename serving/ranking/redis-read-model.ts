import type { ReadModel } from "../recommender/read-model.ts";
import type { ItemId, ItemInfo, Neighbour, ScoredItem, UserId } from "../recommender/types.ts";
import type { FeaturesReader } from "../../projectors/features/read.ts";
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
  /** Neighbours read per item from the online co-occurrence projection. */
  onlineNeighbours?: number;
}

/** A small time-bounded cache: one entry per key, refreshed after `ms`. */
class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  constructor(private readonly ms: number) {}
  get(key: string): V | undefined {
    if (this.ms <= 0) return undefined;
    const e = this.entries.get(key);
    return e && e.until > Date.now() ? e.value : undefined;
  }
  set(key: string, value: V): void {
    if (this.ms <= 0) return;
    if (this.entries.size > 100_000) this.entries.clear();
    this.entries.set(key, { value, until: Date.now() + this.ms });
  }
}

/**
 * The production ReadModel: the projectors' Redis read models (recent items, trending, catalog, online
 * co-occurrence neighbours) plus the active batch artifact. `at(artifactVersion)` fixes the artifact for one
 * request, so a model swap mid-request cannot mix two versions; `forRequest(history)` reuses the history the
 * request already read instead of reading it again.
 */
export class RedisReadModel {
  private readonly itemCache: TtlCache<ItemInfo | null>;
  private readonly lists = new Map<
    string,
    { value: readonly ScoredItem[] | undefined; until: number; refreshing: Promise<void> | undefined }
  >();
  private readonly onlineCache: TtlCache<readonly Neighbour[] | null>;

  constructor(readonly options: RedisReadModelOptions) {
    const ms = options.cacheMs ?? 1000;
    this.itemCache = new TtlCache(ms);
    this.onlineCache = new TtlCache(ms);
  }

  at(artifactVersion: number | null, history?: readonly ItemId[]): VersionedReadModel {
    return new VersionedReadModel(this, artifactVersion, history);
  }

  async onlineNeighbours(items: readonly ItemId[]): Promise<Map<ItemId, readonly Neighbour[]>> {
    const out = new Map<ItemId, readonly Neighbour[]>();
    const missing: ItemId[] = [];
    for (const id of items) {
      const c = this.onlineCache.get(id);
      if (c === undefined) missing.push(id);
      else if (c) out.set(id, c);
    }
    if (missing.length > 0) {
      const lists = await Promise.all(
        missing.map((id) =>
          this.options.recommendations.getNeighbours(id, this.options.onlineNeighbours ?? 50),
        ),
      );
      missing.forEach((id, i) => {
        const list = lists[i]!.map(({ item_id, score }) => ({ item_id, score }));
        this.onlineCache.set(id, list.length > 0 ? list : null);
        if (list.length > 0) out.set(id, list);
      });
    }
    return out;
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
    }
    if (e.value === undefined) await e.refreshing;
    return e.value ?? [];
  }

  async itemInfo(items: readonly ItemId[]): Promise<Map<ItemId, ItemInfo>> {
    const out = new Map<ItemId, ItemInfo>();
    const missing: ItemId[] = [];
    for (const id of items) {
      const c = this.itemCache.get(id);
      if (c === undefined) missing.push(id);
      else if (c) out.set(id, c);
    }
    if (missing.length > 0) {
      const docs = await this.options.features.getItems(missing);
      for (const id of missing) {
        const doc = docs.get(id);
        const info = doc ? { available: doc.available, categories: doc.categories } : null;
        this.itemCache.set(id, info);
        if (info) out.set(id, info);
      }
    }
    return out;
  }
}

/** The ReadModel recommend() sees for one request (one artifact version, the request's history). */
export class VersionedReadModel implements ReadModel {
  constructor(
    private readonly base: RedisReadModel,
    readonly artifactVersion: number | null,
    private readonly history?: readonly ItemId[],
  ) {}

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

  async itemBias(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, number>> {
    if (this.artifactVersion === null) return new Map();
    return this.base.options.artifacts.bias(this.artifactVersion, itemIds);
  }

  async popularItems(limit: number): Promise<readonly ScoredItem[]> {
    if (this.artifactVersion !== null) {
      const list = await this.base.options.artifacts.popular(this.artifactVersion);
      if (list.length > 0) return list.slice(0, limit);
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
