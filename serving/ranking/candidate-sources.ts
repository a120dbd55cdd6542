import type { RankingState } from "../../projectors/features/read.ts";
import type { ReadModel } from "../recommender/read-model.ts";
import { recommend } from "../recommender/recommend.ts";
import type { ItemId, ScoredItem } from "../recommender/types.ts";
import type { ServingConfig } from "./config.ts";
import type { CandidateSignals } from "./features.ts";
import type { VersionedReadModel } from "./redis-read-model.ts";
import { byPosition, weightedListSums } from "./item-weights.ts";
import { FOLLOWER_SEEDS, nextItemSignal } from "./transitions.ts";

/** Where a recommended item came from, as the API reports it. */
export type CandidateSource = "neighbours" | "affinity" | "trending" | "popular" | "catalog";

/**
 * What the sources read: the recommender's read model plus trending per category and, where the batch artifact
 * has them, what users took right after each item.
 */
export type CandidateView = ReadModel &
  Pick<VersionedReadModel, "trendingIn"> &
  Partial<Pick<VersionedReadModel, "itemFollowers">>;

/** What every candidate source sees for one request: the user's state and the read-model view it reads. */
export interface RetrievalContext {
  readonly userId: string;
  readonly config: ServingConfig;
  readonly view: CandidateView;
  readonly user: RankingState;
  /** The user's distinct recent items, most recent first. */
  readonly history: readonly ItemId[];
  /** Items never to propose (excluded by the request, or consumed). */
  readonly blocked: ReadonlySet<ItemId>;
  /** Categories the request keeps (empty: all). */
  readonly categories: readonly string[];
  /** How deep the retrieval lists go. */
  readonly pool: number;
}

/** A rank feature a source provides: the candidate's position in the source's list. */
export type RankSignal = keyof Pick<
  CandidateSignals,
  "retrievalRank" | "lastItemRank" | "trendingRank" | "popularRank"
>;

/** A value feature a source provides (already in 0..1). */
export type ValueSignal = keyof Pick<
  CandidateSignals,
  "retrievalScore" | "retrievalDepth" | "recentNeighbours" | "popularity" | "transitionScore"
>;

export interface SourceCandidates {
  /** Proposed items, best first, each with the source the response names. */
  readonly proposed: readonly { readonly item_id: ItemId; readonly source: CandidateSource }[];
  /** The rank feature this source feeds for every candidate, whoever proposed it. */
  readonly signal?: { readonly name: RankSignal; readonly rank: ReadonlyMap<ItemId, number> };
  /** Value features this source feeds for every candidate, whoever proposed it. */
  readonly values?: readonly { readonly name: ValueSignal; readonly value: ReadonlyMap<ItemId, number> }[];
}

/**
 * One candidate source (as Gorse's recommenders in logics/recommend.go): reads its list and proposes items.
 * Each issues its reads before its first await, so all sources' reads leave in one auto-pipelined write.
 */
export type CandidateSourceFn = (context: RetrievalContext) => Promise<SourceCandidates>;

const rankMaps = new WeakMap<readonly ScoredItem[], Map<ItemId, number>>();
/**
 * Item → position. Shared lists (trending, popularity, artifact neighbour lists) are the same array objects while
 * cached, so their maps are built once per list, not once per request.
 */
function rankMap(list: readonly ScoredItem[], shared = true): Map<ItemId, number> {
  let m = shared ? rankMaps.get(list) : undefined;
  if (!m) {
    m = new Map();
    for (let i = 0; i < list.length; i++) m.set(list[i]!.item_id, i); // last wins, as new Map(entries)
    if (shared) rankMaps.set(list, m);
  }
  return m;
}
const EMPTY: readonly ScoredItem[] = [];

/**
 * Neighbours of the user's recent items through recommend(), the function the offline evaluation scores; what
 * recommend() filled from popularity is proposed as popular.
 */
export const itemToItem: CandidateSourceFn = async ({ view, userId, history, blocked, config, pool }) => {
  const retrieved =
    history.length > 0
      ? await recommend(view, userId, pool, {
          exclude: blocked,
          excludeConsumed: false,
          historyLimit: config.historySeeds,
        })
      : [];
  const neighbours = retrieved.filter((r) => r.source === "neighbours");
  const best = neighbours[0]?.score ?? 0;
  // An item listed twice takes its last position in all three (as building each Map by set() did).
  const rank = rankMap(neighbours, false);
  return {
    proposed: retrieved.map((r) => ({
      item_id: r.item_id,
      source: r.source === "neighbours" ? ("neighbours" as const) : ("popular" as const),
    })),
    signal: { name: "retrievalRank", rank },
    values: [
      {
        name: "retrievalScore",
        value: byPosition(rank, (i) => (best > 0 ? neighbours[i]!.score / best : 0)),
      },
      { name: "retrievalDepth", value: byPosition(rank, (i) => 1 - i / pool) },
    ],
  };
};

/** How many of the user's latest items feed `recent_neighbours`, and the half-life (in items) of their weight. */
export const RECENT_ITEMS = 10;
const RECENT_HALF_LIFE = 2;
/** 2^(−position / RECENT_HALF_LIFE) for each of the RECENT_ITEMS positions. */
const RECENT_DECAY = Array.from({ length: RECENT_ITEMS }, (_, p) => Math.pow(2, -p / RECENT_HALF_LIFE));

/**
 * Neighbours of the user's most recent item alone (what they are doing right now), and the recency-weighted
 * neighbour weight of every candidate over the latest RECENT_ITEMS items (neighbour lists are cached in process).
 */
export const lastItemNeighbours: CandidateSourceFn = async ({ view, history, config }) => {
  const recent = history.slice(0, RECENT_ITEMS);
  const lists = recent.length > 0 ? await view.itemNeighbours(recent) : new Map<ItemId, ScoredItem[]>();
  const rank = rankMap(lists.get(history[0]!) ?? EMPTY);
  // RECENT_DECAY's first recent.length weights are the lists' (weightedListSums reads one weight per list).
  const weight = weightedListSums(
    recent.map((id) => lists.get(id) ?? EMPTY),
    RECENT_DECAY,
  );
  // The first perSource of the list (without copying the whole list's keys first).
  const proposed: { item_id: ItemId; source: CandidateSource }[] = [];
  for (const item_id of rank.keys()) {
    if (proposed.length >= config.perSource) break;
    proposed.push({ item_id, source: "neighbours" });
  }
  return {
    proposed,
    signal: { name: "lastItemRank", rank },
    values: [{ name: "recentNeighbours", value: weight }],
  };
};

/**
 * What users took right after the user's latest items (the batch artifact's followers, recency-weighted:
 * serving/ranking/transitions.ts): proposes the best few, so items the batch model's list misses can enter, and
 * gives every candidate its `transition_score`. Reported as neighbours (item-to-item, in one direction).
 */
export const nextItems: CandidateSourceFn = async ({ view, history, blocked, config }) => {
  const recent = history.slice(0, FOLLOWER_SEEDS);
  if (recent.length === 0 || !view.itemFollowers) return { proposed: [] };
  const { top, values } = nextItemSignal(await view.itemFollowers(recent), recent, blocked, config.perSource);
  return {
    proposed: top.map((r) => ({ item_id: r.item_id, source: "neighbours" })),
    values: [{ name: "transitionScore", value: values }],
  };
};

/** Trending in the user's top-affinity category. */
export const affinityCategory: CandidateSourceFn = async ({ view, user, config }) => {
  const topCategory = user.affinities[0]?.category;
  const list = topCategory ? await view.trendingIn(topCategory, config.perSource) : [];
  return { proposed: list.map((r) => ({ item_id: r.item_id, source: "affinity" })) };
};

/** Trending in each category the request asks for. */
export const requestedCategories: CandidateSourceFn = async ({ view, categories, pool }) => {
  const lists = await Promise.all(categories.map((c) => view.trendingIn(c, pool)));
  return { proposed: lists.flat().map((r) => ({ item_id: r.item_id, source: "trending" })) };
};

/** Short-horizon trending items. */
export const trending: CandidateSourceFn = async ({ view, config }) => {
  const list = await view.trendingItems(100);
  return {
    proposed: list.slice(0, config.perSource).map((r) => ({ item_id: r.item_id, source: "trending" })),
    signal: { name: "trendingRank", rank: rankMap(list) },
  };
};

/** Long-horizon popular items. */
export const popular: CandidateSourceFn = async ({ view, config }) => {
  const list = await view.popularItems(200);
  return {
    proposed: list.slice(0, config.perSource).map((r) => ({ item_id: r.item_id, source: "popular" })),
    signal: { name: "popularRank", rank: rankMap(list) },
    values: [{ name: "popularity", value: popularityShares(list) }],
  };
};

const popularityMaps = new WeakMap<readonly ScoredItem[], Map<ItemId, number>>();
/** log(1 + score) over the top item's, once per shared popularity list. */
function popularityShares(list: readonly ScoredItem[]): Map<ItemId, number> {
  let m = popularityMaps.get(list);
  if (!m) {
    m = new Map();
    const top = Math.log1p(Math.max(0, list[0]?.score ?? 0));
    for (const r of list) m.set(r.item_id, top > 0 ? Math.log1p(Math.max(0, r.score)) / top : 0);
    popularityMaps.set(list, m);
  }
  return m;
}

/** Every source rankForUser draws from, in priority order: an item proposed twice keeps its first source. */
export const CANDIDATE_SOURCES: readonly CandidateSourceFn[] = [
  itemToItem,
  lastItemNeighbours,
  affinityCategory,
  requestedCategories,
  trending,
  popular,
  nextItems,
];
