import type { RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { DEFAULT_KEY_PREFIX, versionBase } from "../../core/read-models/keys.ts";
import { asProjectionStore } from "../store/open.ts";
import { cosine, recommendationKeys } from "./ops.ts";
import { RECOMMENDATIONS_NS, RECOMMENDATIONS_PROJECTION } from "./projection.ts";

export interface Neighbour {
  item_id: string;
  /** Cosine-normalised co-occurrence in [0, 1]. */
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
        version: await this.store.currentVersion(this.prefix, RECOMMENDATIONS_PROJECTION),
        until: now + 500,
      };
    }
    return versionBase(this.prefix, RECOMMENDATIONS_NS, this.cached.version) + relative;
  }

  /** The item's best neighbours by normalised co-occurrence (ties by item id). */
  async getNeighbours(itemId: string, n = 20): Promise<Neighbour[]> {
    const raw = await this.store.zrevrangeWithScores(
      await this.key(recommendationKeys.neighbours(itemId)),
      0,
      -1,
    );
    if (raw.length === 0) return [];
    const ids: string[] = [];
    const co: number[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      ids.push(raw[i]!);
      co.push(Number(raw[i + 1]));
    }
    // One GET per key (auto-pipelined): the counts live in different cluster slots, so no MGET.
    const counts = await Promise.all(
      [itemId, ...ids].map(async (id) =>
        Number((await this.store.get(await this.key(recommendationKeys.count(id)))) ?? 0),
      ),
    );
    const own = counts[0]!;
    return ids
      .map((item_id, i) => ({ item_id, co_count: co[i]!, score: cosine(co[i]!, own, counts[i + 1]!) }))
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
