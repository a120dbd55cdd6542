import type { ReadModel, UserCandidates } from "./read-model.ts";
import type { ItemId, Recommendation, RecommendationSource, ScoredItem, UserId } from "./types.ts";

export interface RecommendOptions {
  /** Item ids never to return (e.g. already shown). */
  readonly exclude?: Iterable<ItemId>;
  /** Drop items the user already consumed. Default true. */
  readonly excludeConsumed?: boolean;
  /** Seed candidates from at most this many most-recent history items. Default: all the read model returns. */
  readonly historyLimit?: number;
  /** Keep only items the catalog lists in this category (unknown items have no category, so they are dropped). */
  readonly category?: string;
  /** What fills the list when neighbours run out (cold users, sparse histories). Default "popular". */
  readonly fallback?: "popular" | "trending";
}

/**
 * Item-to-item recommendation. When the batch model precomputed the user's list, its scores are the start and
 * only the items touched since training add their neighbour rows; otherwise a candidate's score is the sum of
 * its neighbour weights over the user's recent history items ("seeds"), plus the model's per-item bias once
 * per seed. The API and the offline evaluation both call this function, so they rank identically. Remaining
 * slots are filled from the fallback list.
 */
export async function recommend(
  readModel: ReadModel,
  userId: UserId,
  n: number,
  options: RecommendOptions = {},
): Promise<Recommendation[]> {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (n === 0) return [];
  const [history, precomputed] = await Promise.all([
    readModel.userHistory(userId, options.historyLimit),
    readModel.userCandidates(userId),
  ]);
  const blocked = new Set<ItemId>(options.exclude ?? []);
  if (options.excludeConsumed ?? true) {
    // The seed window may be shorter than the full history; consumption is judged on everything we can see.
    const consumed = options.historyLimit === undefined ? history : await readModel.userHistory(userId);
    for (const id of consumed) blocked.add(id);
  }

  const scores = precomputed
    ? await scoreFromPrecomputed(readModel, precomputed, options.historyLimit, blocked)
    : await scoreFromNeighbours(readModel, history, blocked);
  const ranked: ScoredItem[] = [];
  for (const [item_id, score] of scores) ranked.push({ item_id, score });
  ranked.sort(byScoreThenId);

  const result: Recommendation[] = [];
  await takeEligible(readModel, ranked, "neighbours", n, blocked, options.category, result);
  if (result.length < n) await fillFromFallback(readModel, n, blocked, options, result);
  return result;
}

/**
 * Σ over seeds of their neighbour rows, plus each candidate's bias once per seed: for EASE that is x_u·B with
 * each row of B cut to its top-K and the cut entries estimated (see ModelArtifact.itemBias).
 */
async function scoreFromNeighbours(
  readModel: ReadModel,
  seeds: readonly ItemId[],
  blocked: ReadonlySet<ItemId>,
  scores = new Map<ItemId, number>(),
  floor = 0,
): Promise<Map<ItemId, number>> {
  if (seeds.length === 0) return scores;
  const neighbours = await readModel.itemNeighbours(seeds);
  let used = 0;
  for (const seed of seeds) {
    const list = neighbours.get(seed);
    if (!list) continue;
    used++;
    for (const { item_id, score } of list) {
      if (blocked.has(item_id)) continue;
      scores.set(item_id, (scores.get(item_id) ?? floor) + score);
    }
  }
  if (used > 0 && scores.size > 0) {
    // Stored weights are w_ij − r_j; adding r_j once per seed restores the dropped entries' estimate.
    const bias = await readModel.itemBias([...scores.keys()]);
    for (const [id, r] of bias) scores.set(id, scores.get(id)! + used * r);
  }
  return scores;
}

/**
 * The batch model's precomputed scores for the user's trained history, plus the rows of the items touched
 * since (the score is additive over history items, so this is the same model brought up to date). An item
 * outside the precomputed top-M scored below its last entry: it starts from that score, an upper bound, so a
 * fresh click can lift its neighbours into the list at once.
 */
async function scoreFromPrecomputed(
  readModel: ReadModel,
  precomputed: UserCandidates,
  historyLimit: number | undefined,
  blocked: ReadonlySet<ItemId>,
): Promise<Map<ItemId, number>> {
  const scores = new Map<ItemId, number>();
  for (const { item_id, score } of precomputed.items) if (!blocked.has(item_id)) scores.set(item_id, score);
  const floor = precomputed.items.at(-1)?.score ?? 0;
  const seeds = precomputed.newSeeds.slice(0, historyLimit ?? precomputed.newSeeds.length);
  return scoreFromNeighbours(readModel, seeds, blocked, scores, floor);
}

async function fillFromFallback(
  readModel: ReadModel,
  n: number,
  blocked: Set<ItemId>,
  options: RecommendOptions,
  result: Recommendation[],
): Promise<void> {
  const source: RecommendationSource = options.fallback ?? "popular";
  const fetch = (limit: number) =>
    source === "trending" ? readModel.trendingItems(limit) : readModel.popularItems(limit);
  // Ask for enough that exclusions alone cannot starve the list; grow only if the catalog filter drops a lot.
  let limit = n + blocked.size;
  let offset = 0;
  for (;;) {
    const list = await fetch(limit);
    await takeEligible(readModel, list.slice(offset), source, n, blocked, options.category, result);
    if (result.length >= n || list.length < limit) return;
    offset = list.length;
    limit *= 2;
  }
}

/** Appends eligible candidates (in order) until `result` holds n; checks the catalog a chunk at a time. */
async function takeEligible(
  readModel: ReadModel,
  candidates: readonly ScoredItem[],
  source: RecommendationSource,
  n: number,
  blocked: Set<ItemId>,
  category: string | undefined,
  result: Recommendation[],
): Promise<void> {
  const chunkSize = Math.max(4 * n, 50);
  for (let start = 0; start < candidates.length && result.length < n; start += chunkSize) {
    const chunk = candidates.slice(start, start + chunkSize).filter((c) => !blocked.has(c.item_id));
    if (chunk.length === 0) continue;
    const info = await readModel.itemInfo(chunk.map((c) => c.item_id));
    for (const { item_id, score } of chunk) {
      if (result.length >= n) return;
      const facts = info.get(item_id);
      if (facts && !facts.available) continue;
      if (category !== undefined && !facts?.categories.includes(category)) continue;
      blocked.add(item_id); // a fallback item must not repeat a neighbour item
      result.push({ item_id, score, source });
    }
  }
}

function byScoreThenId(a: ScoredItem, b: ScoredItem): number {
  // Ties broken by id so that rankings (and therefore evaluation numbers) are reproducible.
  return b.score - a.score || (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0);
}
