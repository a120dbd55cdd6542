import type { RankingState } from "../../projectors/features/read.ts";
import { splitPerUser, splitPerUserTemporal, compareIds, type Split } from "../eval/split.ts";
import { historiesByRecency, type Interaction } from "../recommender/interactions.ts";
import { InMemoryReadModel } from "../recommender/memory-read-model.ts";
import type { ItemId, ItemInfo, ScoredItem } from "../recommender/types.ts";
import type { CandidateView, RetrievalContext } from "../ranking/candidate-sources.ts";
import type { ServingConfig } from "../ranking/config.ts";
import { trainBatchArtifact } from "./batch-artifact.ts";

/**
 * Held-out users for judging and fitting a ranker by the list it produces. Both protocols of
 * docs/guides/recommendation-quality.md: `random` holds out a seeded 25% of each user's items, `temporal` each
 * user's latest 25%. A probe of the production batch model is trained on the rest, and every held-out user gets
 * the retrieval context serving would build for them (the same candidate sources read it), so the list a ranker
 * produces here is the one serving would answer, and the held-out items say how good it is.
 */
export type Protocol = "random" | "temporal";
export const PROTOCOLS: readonly Protocol[] = ["random", "temporal"];

export interface HeldOutUser {
  readonly userId: string;
  readonly context: RetrievalContext;
  readonly relevant: ReadonlySet<ItemId>;
  /** Fitting side (true) or the gate's side (false) of a fixed split of users. */
  readonly fit: boolean;
}

export interface HeldOutOptions {
  readonly seed: number;
  readonly config: ServingConfig;
  /** Catalog categories per item, as the catalog events set them. */
  readonly categories: ReadonlyMap<ItemId, readonly string[]>;
  /** Most held-out users kept (each side), chosen by a hash of the id so the choice is stable. */
  readonly maxUsers: number;
  /** The share of training events (the latest) the trending list counts. Default 0.1. */
  readonly trendingShare?: number;
}

export function heldOutUsers(
  interactions: readonly Interaction[],
  protocol: Protocol,
  options: HeldOutOptions,
): HeldOutUser[] {
  const split =
    protocol === "random"
      ? splitPerUser(interactions, { seed: options.seed })
      : splitPerUserTemporal(interactions);
  return splitUsers(split, options);
}

/**
 * Every test user of a given split with the retrieval context serving would build for them from the training
 * part (a probe of the batch model trained on it), fitting or gate side by a hash of the id.
 */
export function splitUsers(split: Split, options: HeldOutOptions): HeldOutUser[] {
  const artifact = trainBatchArtifact(split.train);
  const histories = historiesByRecency(split.train);
  const latest = latestTimes(split.train);
  const trending = recentPopularity(split.train, options.trendingShare ?? 0.1);
  const items = new Map<ItemId, ItemInfo>();
  for (const [id, categories] of options.categories) items.set(id, { available: true, categories });
  const trendingByCategory = new Map<string, ScoredItem[]>();
  for (const entry of trending)
    for (const c of options.categories.get(entry.item_id) ?? []) {
      let list = trendingByCategory.get(c);
      if (!list) trendingByCategory.set(c, (list = []));
      list.push(entry);
    }
  const base = new InMemoryReadModel({
    histories,
    neighbours: artifact.neighbours,
    itemBias: artifact.itemBias,
    ...(artifact.followers && { followers: artifact.followers }),
    popular: artifact.popular,
    trending,
    items,
    ...(artifact.userCandidates && {
      userCandidates: new Map([...artifact.userCandidates].map(([u, list]) => [u, { items: list }])),
    }),
  });
  const view: CandidateView = Object.assign(base, {
    trendingIn: async (category: string, limit: number) =>
      (trendingByCategory.get(category) ?? []).slice(0, limit),
  });

  const relevant = new Map<string, Set<ItemId>>();
  for (const { userId, itemId } of split.test) {
    let set = relevant.get(userId);
    if (!set) relevant.set(userId, (set = new Set()));
    set.add(itemId);
  }
  const users = [...relevant.keys()].sort(
    (a, b) => hash(a, options.seed) - hash(b, options.seed) || compareIds(a, b),
  );
  const fitUsers = users.filter((u) => isFitUser(u, options.seed)).slice(0, options.maxUsers);
  const gateUsers = users.filter((u) => !isFitUser(u, options.seed)).slice(0, options.maxUsers);
  return [...fitUsers, ...gateUsers].map((userId) => {
    const history = histories.get(userId) ?? [];
    const times = latest.get(userId);
    const user: RankingState = {
      recent: history.map((item_id) => ({ item_id, type: "view", atMs: times?.get(item_id) ?? 0 })),
      affinities: affinities(history, options.categories),
    };
    return {
      userId,
      fit: isFitUser(userId, options.seed),
      relevant: relevant.get(userId)!,
      context: {
        userId,
        config: options.config,
        view,
        user,
        history,
        blocked: new Set(history),
        categories: [],
        pool: Math.min(Math.max(options.config.pool, 40), 400),
      },
    };
  });
}

/** Half the users fit the ranker, the other half judge it: a ranker never sees the users it is judged on. */
function isFitUser(userId: string, seed: number): boolean {
  return hash(userId, seed ^ 0x5bd1e995) % 2 === 0;
}

/** FNV-1a of the id, mixed with the seed: a stable, platform-independent order of users. */
function hash(id: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function latestTimes(rows: readonly Interaction[]): Map<string, Map<ItemId, number>> {
  const out = new Map<string, Map<ItemId, number>>();
  for (const { userId, itemId, timestamp } of rows) {
    let m = out.get(userId);
    if (!m) out.set(userId, (m = new Map()));
    m.set(itemId, Math.max(m.get(itemId) ?? -Infinity, timestamp));
  }
  return out;
}

/** What is popular lately: interaction counts over the latest share of the events (serving's trending list). */
export function recentPopularity(rows: readonly Interaction[], share: number): ScoredItem[] {
  const ordered = [...rows].sort((a, b) => a.timestamp - b.timestamp);
  const counts = new Map<ItemId, number>();
  for (const r of ordered.slice(Math.floor(ordered.length * (1 - share))))
    counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
  return [...counts]
    .map(([item_id, score]) => ({ item_id, score }))
    .sort((a, b) => b.score - a.score || compareIds(a.item_id, b.item_id));
}

/** Category shares of the user's history (serving keeps them decayed; counts are their undecayed form). */
function affinities(
  history: readonly ItemId[],
  categories: ReadonlyMap<ItemId, readonly string[]>,
): RankingState["affinities"] {
  const counts = new Map<string, number>();
  for (const id of history) for (const c of categories.get(id) ?? []) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts]
    .map(([category, score]) => ({ category, score }))
    .sort((a, b) => b.score - a.score || (a.category < b.category ? -1 : 1));
}
