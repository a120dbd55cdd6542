import type { Interaction } from "../recommender/interactions.ts";
import type { ItemId, Neighbour, UserId } from "../recommender/types.ts";
import { byPosition } from "./item-weights.ts";

/**
 * Followers: what other users took right after an item. Users move through a catalog in an order the product
 * drives (a genre page, "similar titles", a series), so the items that followed i in other users' sequences
 * predict what a user who just took i takes next better than the symmetric co-occurrence the batch model
 * learns (it does not know which came first). A first-order, windowed Markov model in the spirit of
 * session-based kNN: pure counting, no I/O, so the batch model, the offline evaluation and tests share it.
 */
export interface FollowerOptions {
  /** How many later items of the same user count as following an item. */
  readonly window: number;
  /** A follower d places later counts d^(−distanceExponent): near followers weigh more, far ones still count. */
  readonly distanceExponent: number;
  /** Followers kept per item (best first). */
  readonly keep: number;
  /**
   * Each follower's score is divided by its own count to this power: 0 keeps the most popular followers on top;
   * above 0 favours what follows i in particular over what follows everything.
   */
  readonly popularityExponent: number;
}

/**
 * Chosen on ml-latest-small's temporal split with a quick offline probe (a wide window with a slow decay beat
 * first-order windows of 1–20: MovieLens users rate in long sittings, and what the site showed them next
 * stays relevant for dozens of ratings).
 */
export const FOLLOWER_OPTIONS: FollowerOptions = {
  window: 50,
  distanceExponent: 0.5,
  keep: 100,
  popularityExponent: 0.3,
};

/** How many of the user's latest items score the followers, and the half-life (in items) of their weight. */
export const FOLLOWER_SEEDS = 10;
export const FOLLOWER_HALF_LIFE = 3;

const compareIds = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Each user's distinct items in the order they were first taken (ties by item id, so the order is
 * reproducible); a repeated interaction does not move an item.
 */
export function sequencesByFirstTouch(interactions: Iterable<Interaction>): Map<UserId, ItemId[]> {
  const first = new Map<UserId, Map<ItemId, number>>();
  for (const { userId, itemId, timestamp } of interactions) {
    let items = first.get(userId);
    if (!items) first.set(userId, (items = new Map()));
    const seen = items.get(itemId);
    if (seen === undefined || timestamp < seen) items.set(itemId, timestamp);
  }
  const out = new Map<UserId, ItemId[]>();
  for (const [userId, items] of first)
    out.set(
      userId,
      [...items].sort((a, b) => a[1] - b[1] || compareIds(a[0], b[0])).map(([id]) => id),
    );
  return out;
}

/**
 * Per item i, its followers j scored Σ over sequences where j comes d ≤ window places after i of d^(−distanceExponent),
 * divided by the number of sequences holding i (a windowed P̂(j follows i)) and by j's count to the popularity
 * exponent (a mild damping: what follows i in particular over what follows everything); best first (ties by id),
 * at most `keep`.
 */
export function countFollowers(
  sequences: Iterable<readonly ItemId[]>,
  options: FollowerOptions = FOLLOWER_OPTIONS,
): Map<ItemId, Neighbour[]> {
  const index = new Map<ItemId, number>();
  const ids: ItemId[] = [];
  const counts: number[] = [];
  const rows: Map<number, number>[] = [];
  const weights = Array.from({ length: options.window + 1 }, (_, d) =>
    d === 0 ? 0 : Math.pow(d, -options.distanceExponent),
  );
  for (const sequence of sequences) {
    const seq = sequence.map((id) => {
      let n = index.get(id);
      if (n === undefined) {
        n = ids.length;
        index.set(id, n);
        ids.push(id);
        counts.push(0);
        rows.push(new Map());
      }
      return n;
    });
    for (let a = 0; a < seq.length; a++) {
      const i = seq[a]!;
      counts[i]!++;
      const row = rows[i]!;
      const end = Math.min(seq.length, a + 1 + options.window);
      for (let b = a + 1; b < end; b++) {
        const j = seq[b]!;
        if (j !== i) row.set(j, (row.get(j) ?? 0) + weights[b - a]!);
      }
    }
  }
  const out = new Map<ItemId, Neighbour[]>();
  rows.forEach((row, i) => {
    if (row.size === 0) return;
    const list = [...row]
      .map(([j, w]) => ({
        item_id: ids[j]!,
        score: w / counts[i]! / Math.pow(counts[j]!, options.popularityExponent),
      }))
      .sort((x, y) => y.score - x.score || compareIds(x.item_id, y.item_id))
      .slice(0, options.keep);
    out.set(ids[i]!, list);
  });
  return out;
}

/** Followers of every item from a log of interactions: what the batch model stores in its artifact. */
export function followersFromLog(
  interactions: Iterable<Interaction>,
  options: FollowerOptions = FOLLOWER_OPTIONS,
): Map<ItemId, Neighbour[]> {
  return countFollowers(sequencesByFirstTouch(interactions).values(), options);
}

/** The user's summed follower scores, before normalisation (items in `exclude` left out). */
function followerSums(
  followers: ReadonlyMap<ItemId, readonly Neighbour[]>,
  recent: readonly ItemId[],
  exclude: ReadonlySet<ItemId>,
  halfLife: number,
): Map<ItemId, number> {
  const sums = new Map<ItemId, number>();
  recent.forEach((seed, p) => {
    const weight = Math.pow(2, -p / halfLife);
    for (const { item_id, score } of followers.get(seed) ?? []) {
      if (exclude.has(item_id)) continue;
      sums.set(item_id, (sums.get(item_id) ?? 0) + weight * score);
    }
  });
  return sums;
}

const byScoreThenId = (x: Neighbour, y: Neighbour) => y.score - x.score || compareIds(x.item_id, y.item_id);

/**
 * What the user is likely to take next: Σ over their latest items (most recent first, position p from 0) of
 * 2^(−p/halfLife) × the candidate's follower score, over the best candidate's (0..1). Items in `exclude` are
 * left out before the best is taken. Best first (ties by id).
 */
export function nextItemScores(
  followers: ReadonlyMap<ItemId, readonly Neighbour[]>,
  recent: readonly ItemId[],
  exclude: ReadonlySet<ItemId> = new Set(),
  halfLife: number = FOLLOWER_HALF_LIFE,
): Neighbour[] {
  const sums = followerSums(followers, recent, exclude, halfLife);
  let best = 0;
  for (const s of sums.values()) best = Math.max(best, s);
  return [...sums].map(([item_id, s]) => ({ item_id, score: best > 0 ? s / best : 0 })).sort(byScoreThenId);
}

/**
 * What serving needs of `nextItemScores` on every request, without its full sort and its copy into a map: the
 * best `limit` (the same items in the same order as `nextItemScores(…).slice(0, limit)`) and every item's
 * score (the same numbers, computed when read). About a thousand followers per request: sorting them all was
 * most of this source's cost.
 */
export function nextItemSignal(
  followers: ReadonlyMap<ItemId, readonly Neighbour[]>,
  recent: readonly ItemId[],
  exclude: ReadonlySet<ItemId>,
  limit: number,
  halfLife: number = FOLLOWER_HALF_LIFE,
): { readonly top: Neighbour[]; readonly values: ReadonlyMap<ItemId, number> } {
  const sums = followerSums(followers, recent, exclude, halfLife);
  let best = 0;
  for (const s of sums.values()) best = Math.max(best, s);
  const normalised = (s: number) => (best > 0 ? s / best : 0);
  const values = byPosition(sums, normalised);
  if (limit <= 0) return { top: [], values };
  // The limit-th best normalised score (a numeric sort of a typed array), then only the items at or above it
  // are sorted: every item tied with it is kept until the final order, so the cut falls where the full sort's does.
  const scores = new Float64Array(sums.size);
  let n = 0;
  for (const s of sums.values()) scores[n++] = normalised(s);
  const threshold = n > limit ? scores.sort()[n - limit]! : -Infinity;
  const top: Neighbour[] = [];
  for (const [item_id, s] of sums) {
    const score = normalised(s);
    if (score >= threshold) top.push({ item_id, score });
  }
  return { top: top.sort(byScoreThenId).slice(0, limit), values };
}
