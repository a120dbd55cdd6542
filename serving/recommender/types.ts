/** Ids are strings everywhere: they arrive as event fields and live in Redis keys. */
export type ItemId = string;
export type UserId = string;

/** One entry of an item's neighbour list (the batch model artifact). */
export interface Neighbour {
  readonly item_id: ItemId;
  readonly score: number;
}

export interface ScoredItem {
  readonly item_id: ItemId;
  readonly score: number;
}

/** Catalog facts the recommender filters on. Items the catalog does not know are treated as available. */
export interface ItemInfo {
  readonly available: boolean;
  readonly categories: readonly string[];
}

export type RecommendationSource = "neighbours" | "popular" | "trending";

export interface Recommendation {
  readonly item_id: ItemId;
  readonly score: number;
  readonly source: RecommendationSource;
}
