import type { RedisClient } from "../../core/redis/redis.ts";
import { systemClock, type Clock } from "../../core/clock/clock.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import type { CatalogItem } from "../../core/contracts/item.ts";
import { ALL_CATEGORIES, DEFAULT_KEY_PREFIX, versionBase } from "../../core/read-models/keys.ts";
import { asProjectionStore } from "../store/open.ts";
import { readersVersion } from "../runtime/version-pin.ts";
import { decayedValue, readWindows, SCALE, type HalfLife } from "../runtime/decay.ts";
import { DEFAULT_FEATURES_CONFIG, type FeaturesConfig } from "../../core/read-models/features-config.ts";
import { featureKeys } from "./ops.ts";
import { FEATURES_NS, FEATURES_PROJECTION } from "./projection.ts";

export interface RecentInteraction {
  item_id: string;
  type: string;
  at: string;
}

/** A recent interaction with its event time in ms (the form serving computes with). */
export interface RecentEvent {
  item_id: string;
  type: string;
  atMs: number;
}

/** What ranking reads per request: the recent interactions (most recent first) and the decayed affinities. */
export interface RankingState {
  recent: RecentEvent[];
  /** Decayed category affinities at the read time, best first. */
  affinities: { category: string; score: number }[];
  /** The user's "not_interested" feedback; absent when there is none. */
  dismissed?: DismissedState;
}

/** What a user dismissed ("not_interested"): items most recent first, and per category how many. */
export interface DismissedState {
  items: string[];
  categories: { category: string; count: number }[];
}

export interface UserFeatures {
  user_id: string;
  counts: Record<string, number>;
  last_activity: string | null;
  /** Decayed category affinities at the read time, best first. */
  affinities: { category: string; score: number }[];
  recent: RecentInteraction[];
  /** The user's "not_interested" feedback; absent when there is none. */
  dismissed?: DismissedState;
}

export interface ItemPopularity {
  item_id: string;
  /** Decayed popularity over the short and the long half-life, at the read time. */
  short: number;
  long: number;
  counts: Record<string, number>;
}

export interface ItemFacts {
  available: boolean;
  categories: string[];
}

export interface ScoredItem {
  item_id: string;
  score: number;
}

/**
 * What serving reads from the features projection. Every read resolves the version readers use (cached for
 * half a second, so a switch after a rebuild is picked up at once in practice). `atMs` defaults to the clock's now:
 * decayed values are evaluated at that time.
 */
export class FeaturesReader {
  private cached: { version: Promise<number>; until: number } | undefined;
  private readonly store: ProjectionStore;

  constructor(
    store: ProjectionStore | RedisClient,
    private readonly prefix = DEFAULT_KEY_PREFIX,
    private readonly config: FeaturesConfig = DEFAULT_FEATURES_CONFIG,
    /** Read this version instead of the one readers use (a past read model built by `reckon replay --to`). */
    private readonly version?: number,
    /** The business time decayed values are read at when a read names none (see core/clock). */
    private readonly clock: Clock = systemClock,
  ) {
    this.store = asProjectionStore(store);
  }

  private async key(relative: string): Promise<string> {
    if (this.version !== undefined) return versionBase(this.prefix, FEATURES_NS, this.version) + relative;
    const now = Date.now();
    if (!this.cached || this.cached.until < now) {
      // The promise is cached, so the keys of one read (and concurrent requests) share one GET when it expires.
      const version = readersVersion(this.store, this.prefix, FEATURES_PROJECTION);
      this.cached = { version, until: now + 500 };
      version.catch(() => {
        if (this.cached?.version === version) this.cached = undefined; // a failed read is not kept
      });
    }
    return versionBase(this.prefix, FEATURES_NS, await this.cached.version) + relative;
  }

  async getRecentInteractions(userId: string, n = 50, type?: string): Promise<RecentInteraction[]> {
    return (await this.getRecentEvents(userId, n, type)).map(withIsoTime);
  }

  /** As getRecentInteractions, with event times in ms. */
  async getRecentEvents(userId: string, n = 50, type?: string): Promise<RecentEvent[]> {
    const raw = await this.store.zrevrangeWithScores(await this.key(featureKeys.userRecent(userId)), 0, -1);
    return parseRecent(raw, n, type);
  }

  /**
   * The recent interactions (up to the projection's cap) and the decayed affinities at `atMs`, in ONE store
   * command: serving reads this on every request, and each command costs more client CPU (encoding, reply
   * parsing, promise hops) than Redis takes to run it. All keys carry the user's hash tag: one cluster slot.
   */
  async getRankingState(userId: string, atMs = this.clock.now()): Promise<RankingState> {
    const h = this.config.affinity;
    const windows = readWindows(h, atMs);
    // The dismissal hashes ride in the same command (same user hash tag): negative feedback costs no round trip.
    const keys = [
      featureKeys.userRecent(userId),
      featureKeys.userDismissed(userId),
      featureKeys.userDismissedCategories(userId),
      ...windows.map((k) => featureKeys.userAffinity(userId, k)),
    ];
    const [recentKey, ...hashKeys] = await Promise.all(keys.map((k) => this.key(k)));
    const [joinedRecent, dismissedItems, dismissedCategories, ...affinityHashes] =
      await this.store.zsetAndHashes(recentKey!, hashKeys);
    const rawRecent = joinedRecent === "" ? [] : joinedRecent.split("\n");
    const byCategory = new Map<string, Map<number, number>>();
    windows.forEach((k, i) => {
      const flat = affinityHashes[i]!;
      for (let j = 0; j < flat.length; j += 2) {
        const category = flat[j]!;
        const m = byCategory.get(category) ?? new Map<number, number>();
        m.set(k, Number(flat[j + 1]));
        byCategory.set(category, m);
      }
    });
    // A sum a retraction brought back to zero (or below, when the original's keys had expired) is no affinity.
    const affinities = [...byCategory]
      .map(([category, counters]) => ({ category, score: decayedValue(h, counters, atMs) }))
      .filter((a) => a.score > 0)
      .sort((a, b) => b.score - a.score || a.category.localeCompare(b.category));
    const dismissed = parseDismissed(dismissedItems!, dismissedCategories!);
    return {
      recent: parseRecent(rawRecent, this.config.recentCap),
      affinities,
      ...(dismissed ? { dismissed } : {}),
    };
  }

  /** Distinct items the user interacted with, most recent first. */
  async getRecentItems(userId: string, n = 20): Promise<string[]> {
    const seen = new Set<string>();
    for (const r of await this.getRecentInteractions(userId, this.config.recentCap)) {
      seen.add(r.item_id);
      if (seen.size >= n) break;
    }
    return [...seen];
  }

  async getUserFeatures(userId: string, atMs = this.clock.now()): Promise<UserFeatures> {
    const [profile, state] = await Promise.all([
      this.store.hgetall(await this.key(featureKeys.userProfile(userId))),
      this.getRankingState(userId, atMs),
    ]);
    const counts: Record<string, number> = {};
    // A count a retraction took back to zero (or below, when the original's keys had expired) is no count.
    for (const [field, value] of Object.entries(profile))
      if (field.startsWith("n:") && Number(value) > 0) counts[field.slice(2)] = Number(value);
    return {
      user_id: userId,
      counts,
      last_activity: profile.last ? new Date(Number(profile.last)).toISOString() : null,
      affinities: state.affinities,
      recent: state.recent.map(withIsoTime),
      ...(state.dismissed ? { dismissed: state.dismissed } : {}),
    };
  }

  async getItemPopularity(itemId: string, atMs = this.clock.now()): Promise<ItemPopularity> {
    const score = async (h: HalfLife) => {
      const windows = readWindows(h, atMs);
      const values = await Promise.all(
        windows.map(async (k) =>
          this.store.zscore(await this.key(featureKeys.trending(ALL_CATEGORIES, h, k)), itemId),
        ),
      );
      return decayedValue(h, new Map(windows.map((k, i) => [k, Number(values[i] ?? 0)])), atMs);
    };
    const [short, long, counts] = await Promise.all([
      score(this.config.popularityShort),
      score(this.config.popularityLong),
      this.store.hgetall(await this.key(featureKeys.itemCounts(itemId))),
    ]);
    return {
      item_id: itemId,
      short,
      long,
      counts: Object.fromEntries(
        Object.entries(counts)
          .map(([k, v]) => [k, Number(v)] as const)
          .filter(([, v]) => v > 0),
      ),
    };
  }

  /**
   * Trending items (decayed popularity), in one category or over all items. Candidates are each window's top
   * entries; their scores are then combined exactly over the windows.
   */
  async getTrending(
    category: string | undefined,
    n = 20,
    horizon: "short" | "long" = "short",
    atMs = this.clock.now(),
  ): Promise<ScoredItem[]> {
    const h = horizon === "short" ? this.config.popularityShort : this.config.popularityLong;
    const windows = readWindows(h, atMs);
    const keys = await Promise.all(
      windows.map((k) => this.key(featureKeys.trending(category ?? ALL_CATEGORIES, h, k))),
    );
    const depth = Math.max(n * 4, 100);
    const tops = await Promise.all(keys.map((k) => this.store.zrevrange(k, 0, depth - 1)));
    const candidates = [...new Set(tops.flat())];
    if (candidates.length === 0) return [];
    const scores = await Promise.all(keys.map((k) => this.store.zmscore(k, candidates)));
    return candidates
      .map((item_id, c) => ({
        item_id,
        score: decayedValue(h, new Map(windows.map((k, w) => [k, Number(scores[w]![c] ?? 0)])), atMs),
      }))
      .filter((s) => s.score > 0) // a member whose every contribution was retracted
      .sort((a, b) => b.score - a.score || a.item_id.localeCompare(b.item_id))
      .slice(0, n);
  }

  /** Catalog items, most recently changed first (unfiltered: callers check availability). */
  async getCatalogItems(n = 100): Promise<string[]> {
    return this.store.zrevrange(await this.key(featureKeys.catalogIndex()), 0, n - 1);
  }

  /**
   * Items whose catalog entry changed at or after `sinceMs` (by the entry's `updated_at`, the catalog index's
   * score), oldest first, at most `limit`: what a cache of catalog facts must drop.
   */
  async getCatalogChanges(
    sinceMs: number,
    limit = 10_000,
  ): Promise<{ item_id: string; updatedAt: number }[]> {
    const raw = await this.store.zrangeByScoreWithScores(
      await this.key(featureKeys.catalogIndex()),
      sinceMs,
      limit,
    );
    const out: { item_id: string; updatedAt: number }[] = [];
    for (let i = 0; i < raw.length; i += 2) out.push({ item_id: raw[i]!, updatedAt: Number(raw[i + 1]) });
    return out;
  }

  /** The catalog state of an item as projected, or undefined when the catalog does not know it. */
  async getItem(itemId: string): Promise<CatalogItem | undefined> {
    const doc = await this.store.hget(await this.key(featureKeys.item(itemId)), "doc");
    return doc === null ? undefined : (JSON.parse(doc) as CatalogItem);
  }

  /**
   * Availability and categories only, for many items (serving's filters): the item hash's `avail` and `cats`
   * fields, written with `doc` in the same atomic step, so no catalog document is parsed. Items the catalog does
   * not know are absent.
   */
  async getItemFacts(itemIds: readonly string[]): Promise<Map<string, ItemFacts>> {
    const rows = await Promise.all(
      itemIds.map(async (id) => this.store.hmget(await this.key(featureKeys.item(id)), ITEM_FACT_FIELDS)),
    );
    const out = new Map<string, ItemFacts>();
    itemIds.forEach((id, i) => {
      const [avail, cats] = rows[i]!;
      if (avail === null || avail === undefined || cats === null || cats === undefined) return;
      out.set(id, { available: avail === "1", categories: JSON.parse(cats) as string[] });
    });
    return out;
  }

  async getItems(itemIds: readonly string[]): Promise<Map<string, CatalogItem>> {
    const docs = await Promise.all(itemIds.map((id) => this.getItem(id)));
    return new Map(itemIds.flatMap((id, i) => (docs[i] ? [[id, docs[i]] as const] : [])));
  }
}

/** `{u:ID}:recent` highest first, with scores (`<type>:<item>` → event ms) → the first `n` (of `type`). */
function parseRecent(raw: readonly string[], n: number, type?: string): RecentEvent[] {
  const out: RecentEvent[] = [];
  for (let i = 0; i < raw.length && out.length < n; i += 2) {
    const member = raw[i]!;
    const sep = member.indexOf(":");
    const entryType = member.slice(0, sep);
    if (type === undefined || entryType === type)
      out.push({ type: entryType, item_id: member.slice(sep + 1), atMs: Number(raw[i + 1]) });
  }
  return out;
}

/** The dismissal hashes (flat field, value…) → items most recent first (ties by id), categories by count. */
function parseDismissed(items: readonly string[], categories: readonly string[]): DismissedState | undefined {
  if (items.length === 0) return undefined;
  const byTime: { item: string; at: number }[] = [];
  for (let i = 0; i < items.length; i += 2) byTime.push({ item: items[i]!, at: Number(items[i + 1]) });
  byTime.sort((a, b) => b.at - a.at || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  const counts: { category: string; count: number }[] = [];
  for (let i = 0; i < categories.length; i += 2)
    counts.push({ category: categories[i]!, count: Number(categories[i + 1]) });
  counts.sort(
    (a, b) => b.count - a.count || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
  );
  return { items: byTime.map((x) => x.item), categories: counts };
}

function withIsoTime(e: RecentEvent): RecentInteraction {
  return { item_id: e.item_id, type: e.type, at: new Date(e.atMs).toISOString() };
}

/** The item hash's fields getItemFacts reads (one array for every read). */
const ITEM_FACT_FIELDS = ["avail", "cats"] as const;

/** The fixed-point scale decayed counters are stored with (for tools reading raw keys). */
export const DECAY_SCALE = SCALE;
