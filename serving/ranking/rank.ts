import { systemClock, type Clock } from "../../core/clock/clock.ts";
import type { FeaturesReader, RankingState } from "../../projectors/features/read.ts";
import type { ItemId, ItemInfo } from "../recommender/types.ts";
import type { Ranker } from "../models/model-holder.ts";
import type { ServingConfig } from "./config.ts";
import {
  categoryAffinity,
  FEATURE_COUNT,
  FEATURE_NAMES,
  writeFeatureRow,
  type CandidateSignals,
} from "./features.ts";
import type { RedisReadModel, VersionedReadModel } from "./redis-read-model.ts";
import { applyDiversityCap, byScore, categoryCap, type Ranked } from "./rules.ts";
import {
  applyWeights,
  hasMerchandising,
  NO_MERCHANDISING,
  placePins,
  type Merchandising,
} from "./rules-merchandising.ts";
import { merchandisingFor, resolvePins } from "./rules-apply.ts";
import { NO_STORED_RULES, type RuleContext, type RulesSource } from "./rules-stored.ts";
import {
  CANDIDATE_SOURCES,
  type CandidateSource,
  type RankSignal,
  type RetrievalContext,
  type SourceCandidates,
  type ValueSignal,
} from "./candidate-sources.ts";

export type { CandidateSource } from "./candidate-sources.ts";

/** The retrieval context, over the versioned view this request reads (the fills read it too). */
interface RankingContext extends RetrievalContext {
  readonly view: VersionedReadModel;
}

export interface RecommendationRequest {
  userId: string;
  n: number;
  /** Keep only items in any of these categories (empty: all). */
  categories: readonly string[];
  exclude: readonly string[];
  /** Also return what the ranker saw (`scored`); costs a feature record per candidate, so off by default. */
  explain?: boolean;
  /** Rank with this instead of the active ranker (an experiment variant's). */
  ranker?: Ranker;
  /** The request's own pins, boosts and buries (applied with the stored rules after ranking). */
  merchandising?: Merchandising;
  /** The request's context parameters, which stored rules may be scoped to. */
  context?: RuleContext;
}

/** Where an item came from: a candidate source, or a pin (a request's or a stored rule's). */
export type ServedSource = CandidateSource | "pinned";

export interface RankedItem {
  item_id: string;
  score: number;
  source: ServedSource;
}

export interface RankingOutcome {
  items: RankedItem[];
  model_version: number | null;
  /** With `explain`: per scored candidate (top 50) its feature row, what the ranker saw (/v1/users/:id/features). */
  scored: { item_id: string; source: CandidateSource; score: number; features: Record<string, number> }[];
}

export interface RankingDeps {
  readModel: RedisReadModel;
  features: FeaturesReader;
  ranker: () => Ranker;
  config: ServingConfig;
  /** The stored merchandising rules (absent: none). */
  rules?: RulesSource;
  /** The business time rules are active at (see core/clock); the system clock when absent. */
  clock?: Clock;
}

interface Candidate extends CandidateSignals {
  item_id: string;
  source: CandidateSource;
  info?: ItemInfo;
}

/**
 * Candidates from every source in CANDIDATE_SOURCES (neighbours of the user's recent items through recommend() —
 * the same function the offline evaluation scores — the last item's neighbours, the user's top-affinity category,
 * requested categories, trending, popular) → one feature row per eligible candidate → one batched ranker call →
 * business rules (consumed/excluded/unavailable/category filters, diversity cap, fill so the list is never empty
 * while anything is eligible).
 */
export async function rankForUser(deps: RankingDeps, req: RecommendationRequest): Promise<RankingOutcome> {
  // Captured once: a model swap during this request cannot mix versions.
  const ranker = req.ranker ?? deps.ranker();
  const context = await retrievalContext(deps, req, ranker);
  const sources = await Promise.all(CANDIDATE_SOURCES.map((source) => source(context)));
  const eligible = await eligibleCandidates(context, sources);
  const { ranked, rows } = await scoreCandidates(ranker, eligible);
  const items = await applyRules(deps, context, req, ranked);
  return {
    items,
    model_version: ranker.version,
    scored: req.explain ? explainScores(eligible, ranked, rows) : [],
  };
}

/** The user's state and the read-model view at the artifact this request reads (the I/O before retrieval). */
async function retrievalContext(
  deps: RankingDeps,
  req: RecommendationRequest,
  ranker: Ranker,
): Promise<RankingContext> {
  const { config } = deps;
  const userRead = deps.features.getRankingState(req.userId);
  userRead.catch(() => undefined); // awaited below; only keeps a failure here from going unhandled meanwhile
  // The published artifact, else (none published under this prefix) the one the ranker was registered with.
  // Known without I/O almost always (re-read once a second), so the user's precomputed list is asked for in the
  // same event-loop turn as the features: both go out in one auto-pipelined write, one round trip.
  const artifact = (await deps.readModel.activeArtifact()) ?? ranker.artifactVersion;
  const userList = deps.readModel.prefetchUserList(artifact, req.userId);
  const user = await userRead;
  const history = distinctItems(user);
  const blocked = new Set<ItemId>(req.exclude);
  for (const r of user.recent) if (config.consumedTypes.has(r.type)) blocked.add(r.item_id);
  // "not_interested": never again for this user (its neighbours and categories are demoted after ranking).
  if (user.dismissed) for (const id of user.dismissed.items) blocked.add(id);
  return {
    userId: req.userId,
    config,
    view: deps.readModel.at(artifact, history, user.recent, userList),
    user,
    history,
    blocked,
    categories: req.categories,
    pool: Math.min(Math.max(config.pool, 4 * req.n), 400),
  };
}

/**
 * The sources' proposals, deduplicated (first source wins) and unblocked, that pass the catalog rules, with every
 * source's rank signal and the user's category affinity attached.
 */
export async function eligibleCandidates(
  { view, user, blocked, categories }: Pick<RetrievalContext, "view" | "user" | "blocked" | "categories">,
  sources: readonly SourceCandidates[],
): Promise<Candidate[]> {
  const candidates = new Map<ItemId, Candidate>();
  for (const { proposed } of sources) {
    for (const { item_id, source } of proposed) {
      if (blocked.has(item_id) || candidates.has(item_id)) continue;
      candidates.set(item_id, newCandidate(item_id, source));
    }
  }
  const info = await view.itemInfo([...candidates.keys()]);
  const affinities = new Map(user.affinities.map((a) => [a.category, a.score]));
  const affinityTotal = user.affinities.reduce((s, a) => s + a.score, 0);
  const eligible: Candidate[] = [];
  for (const c of candidates.values()) {
    const facts = info.get(c.item_id);
    if (!isEligible(facts, categories)) continue;
    c.categoryAffinity = categoryAffinity(facts?.categories ?? NO_CATEGORIES, affinities, affinityTotal);
    c.info = facts;
    eligible.push(c);
  }
  // Feature by feature over every candidate: each candidate gets the same writes in the same source order as
  // source by source per candidate, with one map kind per loop instead of all of them at one call site.
  for (const { signal, values } of sources) {
    if (signal) setSignal(eligible, signal.name, signal.rank);
    if (values) for (const v of values) setSignal(eligible, v.name, v.value);
  }
  return eligible;
}

function setSignal(
  eligible: readonly Candidate[],
  name: RankSignal | ValueSignal,
  map: ReadonlyMap<ItemId, number>,
): void {
  for (let i = 0; i < eligible.length; i++) {
    const c = eligible[i]!;
    c[name] = map.get(c.item_id);
  }
}

/**
 * Every field present from the start, in one order: candidates share one hidden class, so the sources' signal
 * stores and the feature-row reads stay monomorphic (fields added one by one, in whatever order the sources
 * feed them, gave every candidate its own shape).
 */
function newCandidate(item_id: ItemId, source: CandidateSource): Candidate {
  // Every field of Candidate, optional ones too: a feature added to CandidateSignals must be listed here.
  const all: { [K in keyof Required<Candidate>]: Candidate[K] } = {
    item_id,
    source,
    categoryAffinity: 0,
    retrievalRank: undefined,
    lastItemRank: undefined,
    trendingRank: undefined,
    popularRank: undefined,
    retrievalScore: undefined,
    retrievalDepth: undefined,
    recentNeighbours: undefined,
    popularity: undefined,
    transitionScore: undefined,
    info: undefined,
  };
  return all;
}

type RankedCandidate = Ranked & { source: CandidateSource; categories: readonly string[] };

/**
 * The ranked list serving produces for a retrieval context, before the fills: every candidate source, the
 * catalog rules, one batched ranker call and the diversity cap. The ranker gate (serving/models/list-gate.ts)
 * scores held-out users through this, so a ranker is judged on the list serving would answer.
 */
export async function rankContext(
  context: RetrievalContext,
  ranker: Ranker,
  n: number,
): Promise<{ item_id: string; source: CandidateSource }[]> {
  const sources = await Promise.all(CANDIDATE_SOURCES.map((source) => source(context)));
  const { ranked } = await scoreCandidates(ranker, await eligibleCandidates(context, sources));
  return applyDiversityCap(ranked, n, categoryCap(n, context.config.categoryShare));
}

/** What the ranker sees for a retrieval context: the eligible candidates and their feature rows (training). */
export async function candidateFeatures(
  context: RetrievalContext,
): Promise<{ itemIds: string[]; rows: Float32Array }> {
  const sources = await Promise.all(CANDIDATE_SOURCES.map((source) => source(context)));
  const eligible = await eligibleCandidates(context, sources);
  const rows = new Float32Array(eligible.length * FEATURE_COUNT);
  for (let i = 0; i < eligible.length; i++) writeFeatureRow(eligible[i]!, rows, i * FEATURE_COUNT);
  return { itemIds: eligible.map((c) => c.item_id), rows };
}

/** One feature row per candidate, one batched ranker call; best first. */
async function scoreCandidates(
  ranker: Ranker,
  eligible: readonly Candidate[],
): Promise<{ ranked: RankedCandidate[]; rows: Float32Array }> {
  const rows = new Float32Array(eligible.length * FEATURE_COUNT);
  for (let i = 0; i < eligible.length; i++) writeFeatureRow(eligible[i]!, rows, i * FEATURE_COUNT);
  const scores = await ranker.score(rows, eligible.length);
  const ranked: RankedCandidate[] = eligible.map((c, i) => ({
    item_id: c.item_id,
    score: scores[i]!,
    source: c.source,
    category: c.info?.categories[0],
    categories: c.info?.categories ?? NO_CATEGORIES,
  }));
  ranked.sort(byScore);
  return { ranked, rows };
}

const NO_CATEGORIES: readonly string[] = [];

/**
 * Merchandising (boost and bury reorder the ranked list; pinned items are taken out of it), the diversity cap over
 * the rest, fills (popular, then catalog) so the list is never short, then the pinned items at their positions.
 */
async function applyRules(
  deps: RankingDeps,
  { view, blocked: unmerchandised, user }: RankingContext,
  req: RecommendationRequest,
  ranked: readonly RankedCandidate[],
): Promise<RankedItem[]> {
  const request = req.merchandising ?? NO_MERCHANDISING;
  const stored = (deps.rules ?? NO_STORED_RULES).current();
  // Most requests have no rule of any kind: no directives to gather, no await.
  const merch =
    hasMerchandising(request) || stored.length > 0 || user.dismissed
      ? await merchandisingFor(view, user, {
          userId: req.userId,
          request,
          stored,
          context: req.context ?? {},
          nowMs: (deps.clock ?? systemClock).now(),
          notInterestedFactor: deps.config.notInterestedFactor,
        })
      : NO_MERCHANDISING;
  let list = ranked;
  let blocked = unmerchandised;
  let pins: Awaited<ReturnType<typeof resolvePins>> = [];
  if (hasMerchandising(merch)) {
    list = applyWeights(ranked, merch.weights);
    if (merch.pins.length > 0) {
      pins = await resolvePins(view, merch.pins, list, req.n, blocked, (facts) =>
        isEligible(facts, req.categories),
      );
      const pinned = new Set(pins.map((p) => p.item.item_id));
      list = list.filter((r) => !pinned.has(r.item_id));
      blocked = new Set([...blocked, ...pinned]); // the fills must not bring them back
    }
  }
  const items: RankedItem[] = applyDiversityCap(
    list,
    req.n,
    categoryCap(req.n, deps.config.categoryShare),
  ).map(({ item_id, score, source }) => ({ item_id, score, source }));
  if (items.length < req.n) await fillFromPopular(view, req, blocked, items);
  if (items.length < req.n) await fillFromCatalog(deps.features, view, req, blocked, items);
  if (pins.length === 0) return items;
  return placePins(
    items,
    pins.map(({ position, item }) => ({
      position,
      item: { item_id: item.item_id, score: item.score, source: "pinned" },
    })),
    req.n,
  );
}

/** What the ranker saw for the top 50 scored candidates (`explain`). */
function explainScores(
  eligible: readonly Candidate[],
  ranked: readonly RankedCandidate[],
  rows: Float32Array,
): RankingOutcome["scored"] {
  const rowOf = new Map(eligible.map((c, i) => [c.item_id, i]));
  return ranked.slice(0, 50).map((r) => {
    const i = rowOf.get(r.item_id)!;
    const row = rows.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT);
    return {
      item_id: r.item_id,
      source: r.source,
      score: r.score,
      features: Object.fromEntries(FEATURE_NAMES.map((name, f) => [name, row[f]!])),
    };
  });
}

function isEligible(facts: ItemInfo | undefined, categories: readonly string[]): boolean {
  // Items the catalog does not know are available (interactions may precede the catalog feed) ...
  if (facts && !facts.available) return false;
  // ... but have no category, so a category filter drops them.
  if (categories.length > 0 && !facts?.categories.some((c) => categories.includes(c))) return false;
  return true;
}

function distinctItems(user: RankingState): ItemId[] {
  return [...new Set(user.recent.map((r) => r.item_id))];
}

/**
 * The last resort when nothing popular is eligible (e.g. a user who consumed every item anyone interacted
 * with): the catalog itself, most recently changed first, under the same rules. Only when no catalog item is
 * eligible is the list shorter than asked.
 */
async function fillFromCatalog(
  features: FeaturesReader,
  view: VersionedReadModel,
  req: RecommendationRequest,
  blocked: ReadonlySet<ItemId>,
  items: RankedItem[],
): Promise<void> {
  const taken = new Set(items.map((i) => i.item_id));
  for (let limit = 500; limit <= 8000; limit *= 4) {
    const catalog = await features.getCatalogItems(limit);
    if (await appendEligible(view, req, catalog, blocked, taken, items, "catalog")) return;
    if (catalog.length < limit) return;
  }
}

/** Whatever is left after ranking: the popularity list, deeper, under the same rules (never an empty list). */
async function fillFromPopular(
  view: VersionedReadModel,
  req: RecommendationRequest,
  blocked: ReadonlySet<ItemId>,
  items: RankedItem[],
): Promise<void> {
  const taken = new Set(items.map((i) => i.item_id));
  for (let limit = 500; limit <= 4000; limit *= 2) {
    const lists = [
      await view.popularItems(limit),
      ...(await Promise.all(req.categories.map((c) => view.trendingIn(c, limit)))),
    ];
    const ids = [...new Set(lists.flat().map((x) => x.item_id))];
    if (await appendEligible(view, req, ids, blocked, taken, items, "popular")) return;
    if (lists.every((l) => l.length < limit)) return;
  }
}

/**
 * Appends `ids` that are neither blocked nor already in the list and pass the catalog rules, in order, with
 * score 0, until the list holds `req.n`; true when it does.
 */
async function appendEligible(
  view: VersionedReadModel,
  req: RecommendationRequest,
  ids: readonly ItemId[],
  blocked: ReadonlySet<ItemId>,
  taken: Set<ItemId>,
  items: RankedItem[],
  source: CandidateSource,
): Promise<boolean> {
  const fresh = ids.filter((id) => !blocked.has(id) && !taken.has(id));
  const info = await view.itemInfo(fresh);
  for (const id of fresh) {
    if (items.length >= req.n) return true;
    if (!isEligible(info.get(id), req.categories)) continue;
    taken.add(id);
    items.push({ item_id: id, score: 0, source });
  }
  return items.length >= req.n;
}

/** Similar items: the item's neighbour list (batch model, or online co-occurrence), then trending in its category. */
export async function similarItems(
  deps: RankingDeps,
  itemId: string,
  n: number,
  categories: readonly string[],
): Promise<{ items: RankedItem[]; model_version: number | null }> {
  const ranker = deps.ranker();
  const view = deps.readModel.at((await deps.readModel.activeArtifact()) ?? ranker.artifactVersion);
  const [neighbours, own] = await Promise.all([view.itemNeighbours([itemId]), view.itemInfo([itemId])]);
  const list = neighbours.get(itemId) ?? [];
  const info = await view.itemInfo(list.map((x) => x.item_id));
  const items: RankedItem[] = [];
  for (const x of list) {
    if (items.length >= n) break;
    if (x.item_id === itemId || !isEligible(info.get(x.item_id), categories)) continue;
    items.push({ item_id: x.item_id, score: x.score, source: "neighbours" });
  }
  if (items.length < n) {
    const category = categories[0] ?? own.get(itemId)?.categories[0];
    const fill = category
      ? await view.trendingIn(category, 4 * n + 10)
      : await view.trendingItems(4 * n + 10);
    const fillInfo = await view.itemInfo(fill.map((x) => x.item_id));
    const taken = new Set([itemId, ...items.map((i) => i.item_id)]);
    for (const x of fill) {
      if (items.length >= n) break;
      if (taken.has(x.item_id) || !isEligible(fillInfo.get(x.item_id), categories)) continue;
      taken.add(x.item_id);
      items.push({ item_id: x.item_id, score: 0, source: "trending" });
    }
  }
  return { items, model_version: ranker.version };
}
