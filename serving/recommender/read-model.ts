import type { ItemId, ItemInfo, Neighbour, ScoredItem, UserId } from "./types.ts";

/**
 * Everything `recommend()` reads. Async because the production implementation is Redis-backed;
 * the in-memory one (memory-read-model.ts) serves offline evaluation and tests through the same code path.
 * Each method is one round trip's worth of work, so a Redis implementation can pipeline it.
 */
export interface UserCandidates {
  /** Best first, by the batch model's full score; the items the model saw in the user's history are not in it. */
  readonly items: readonly ScoredItem[];
  /** The user's items the batch model did not see (touched after training), most recent first. */
  readonly newSeeds: readonly ItemId[];
}

export interface ReadModel {
  /** The user's consumed items, most recent first, at most `limit` of them (all when omitted). */
  userHistory(userId: UserId, limit?: number): Promise<readonly ItemId[]>;
  /**
   * The batch model's precomputed list for the user (see ModelArtifact.userCandidates) and the history items it
   * has not seen yet, or undefined when the model has none for this user (new user, or no such model).
   */
  userCandidates(userId: UserId): Promise<UserCandidates | undefined>;
  /** Neighbour lists for several items at once (best first); items without a list are absent from the map. */
  itemNeighbours(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, readonly Neighbour[]>>;
  /**
   * Per-item score correction of the active neighbour model, added once per seed item (see recommend.ts);
   * items without one are absent. Models that need none return an empty map.
   */
  itemBias(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, number>>;
  /** Most popular items, best first. */
  popularItems(limit: number): Promise<readonly ScoredItem[]>;
  /** Recently popular items, best first (decayed popularity). */
  trendingItems(limit: number): Promise<readonly ScoredItem[]>;
  /** Catalog facts for several items; items the catalog does not know are absent from the map. */
  itemInfo(itemIds: readonly ItemId[]): Promise<ReadonlyMap<ItemId, ItemInfo>>;
}
