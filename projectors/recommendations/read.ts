import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { DEFAULT_KEY_PREFIX, versionBase } from "../../core/read-models/keys.ts";
import { asProjectionStore } from "../store/open.ts";
import { readersVersion } from "../runtime/version-pin.ts";
import { recommendationKeys } from "./ops.ts";
import { RECOMMENDATIONS_NS, RECOMMENDATIONS_PROJECTION } from "./projection.ts";

export interface Neighbour {
  item_id: string;
  /** Co-occurrence normalised at read time: P(neighbour | item), in [0, 1] (see conditionalCooccurrence). */
  score: number;
  co_count: number;
}

/** What serving reads from the online recommendations projection. */
export class RecommendationsReader {
  private cached: { version: number; until: number } | undefined;
  private readonly store: ProjectionStore;

  constructor(
    store: ProjectionStore | RedisClient,
    private readonly prefix = DEFAULT_KEY_PREFIX,
  ) {
    this.store = asProjectionStore(store);
  }

  private async key(relative: string): Promise<string> {
    const now = Date.now();
    if (!this.cached || this.cached.until < now) {
      this.cached = {
        version: await readersVersion(this.store, this.prefix, RECOMMENDATIONS_PROJECTION),
        until: now + 500,
      };
    }
    return versionBase(this.prefix, RECOMMENDATIONS_NS, this.cached.version) + relative;
  }

  /** The item's best neighbours by normalised co-occurrence (ties by item id): the order of the raw counts. */
  async getNeighbours(itemId: string, n = 20): Promise<Neighbour[]> {
    const [neighboursKey, countKey] = await Promise.all([
      this.key(recommendationKeys.neighbours(itemId)),
      this.key(recommendationKeys.count(itemId)),
    ]);
    // Both commands leave in one pipelined write: one round trip per item, not two.
    const [raw, count] = await Promise.all([
      this.store.zrevrangeWithScores(neighboursKey, 0, -1),
      this.store.get(countKey),
    ]);
    if (raw.length === 0) return [];
    const ids: string[] = [];
    const co: number[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      ids.push(raw[i]!);
      co.push(Number(raw[i + 1]));
    }
    const own = Number(count ?? 0);
    return ids
      .map((item_id, i) => ({ item_id, co_count: co[i]!, score: conditionalCooccurrence(co[i]!, own) }))
      .sort((a, b) => b.score - a.score || a.item_id.localeCompare(b.item_id))
      .slice(0, n);
  }

  async getNeighboursMany(itemIds: readonly string[], n = 20): Promise<Map<string, Neighbour[]>> {
    const lists = await Promise.all(itemIds.map((id) => this.getNeighbours(id, n)));
    return new Map(itemIds.flatMap((id, i) => (lists[i]!.length > 0 ? [[id, lists[i]!] as const] : [])));
  }

  /** The user's latest distinct items as this projection saw them, most recent first. */
  async getUserHistory(userId: string, n = 20): Promise<string[]> {
    return this.store.zrevrange(await this.key(recommendationKeys.userHistory(userId)), 0, n - 1);
  }
}

/**
 * co(i, j) / cnt(i): the share of the users who took i who also took j nearby, P(j | i). Serving sums it over a
 * user's recent items, so every seed item contributes a distribution (weights summing to at most the window)
 * and a popular neighbour is not divided away as cosine's √cnt(j) does. On ml-latest-small (per-user 75/25,
 * seed 42, the projection's 20-item window) it scores nDCG@10 0.326 where cosine scores 0.241 and Jaccard
 * 0.276; on the temporal split 0.135 against 0.094 (docs/guides/recommendation-quality.md).
 */
export function conditionalCooccurrence(coCount: number, countI: number): number {
  if (coCount <= 0 || countI <= 0) return 0;
  return Math.min(1, coCount / countI);
}
