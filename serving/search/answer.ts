import { systemClock } from "../../core/clock/clock.ts";
import { randomUUID } from "node:crypto";
import type { FieldError } from "../../core/contracts/validation.ts";
import type { ItemDetailReader, SearchQuery, SearchReader } from "../../projectors/search/read.ts";
import type { RankingDeps } from "../ranking/rank.ts";
import { similarItems } from "../ranking/rank.ts";
import { checkId } from "../../core/contracts/id.ts";
import { encodeCursor, parseDetailParams, parseSearchParams, type SearchParams } from "./params.ts";
import { personalise, type ScoredHit } from "./personalise.ts";

export interface JsonAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SearchDeps extends RankingDeps {
  search: SearchReader;
  details: ItemDetailReader;
  /** Attribute keys counted as facets (RECKON_SEARCH_FACETS). */
  facetable: readonly string[];
  /** Read-your-writes on the catalog read models; absent: `min_position` answers 501. */
  waitForPosition?: (token: string, timeoutMs: number) => Promise<{ reached: boolean }>;
  now?: () => number;
}

/** Text hits a personalised search re-ranks: the best this many by text, so re-ranking costs one ranker call. */
export const PERSONALISED_POOL = 200;

export function badRequest(errors: FieldError[]): JsonAnswer {
  return {
    status: 400,
    body: {
      error: "invalid_request",
      message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
      errors,
    },
  };
}

async function waitIfAsked(
  deps: SearchDeps,
  token: string | undefined,
): Promise<JsonAnswer | Record<string, string> | undefined> {
  if (token === undefined) return undefined;
  if (!deps.waitForPosition)
    return {
      status: 501,
      body: {
        error: "not_supported",
        message: "min_position needs the projectors' status (Kafka) configured",
      },
    };
  const { reached } = await deps.waitForPosition(token, deps.config.minPositionWaitMs);
  return { "x-reckon-position-reached": String(reached) };
}

const isAnswer = (x: unknown): x is JsonAnswer => typeof x === "object" && x !== null && "status" in x;

function shown(h: ScoredHit) {
  return {
    item_id: h.hit.item_id,
    title: h.hit.title,
    categories: h.hit.categories,
    attributes: h.hit.attributes,
    available: h.hit.available,
    score: h.score,
    source: h.source,
  };
}

/** GET /v1/search: full text with filters and facets; with user_id re-ranked by serving's signals. */
export async function answerSearch(deps: SearchDeps, query: Record<string, unknown>): Promise<JsonAnswer> {
  const parsed = parseSearchParams(query);
  if (!parsed.ok) return badRequest(parsed.errors);
  const { params } = parsed;
  const waited = await waitIfAsked(deps, params.minPosition);
  if (isAnswer(waited)) return waited;
  const version = await deps.search.version();
  const search: SearchQuery = {
    ...(params.q !== undefined ? { q: params.q } : {}),
    categories: params.categories,
    attributes: params.attributes,
    available: params.available,
  };
  const [page, facets] = await Promise.all([
    params.userId === undefined
      ? textPage(deps, search, params, version)
      : personalisedPage(deps, search, params, version),
    deps.search.facets(search, deps.facetable, version),
  ]);
  const last = page.items.at(-1);
  return {
    status: 200,
    body: {
      items: page.items.map(shown),
      total: facets.total,
      facets: { categories: facets.categories, attributes: facets.attributes },
      next_cursor: page.more && last ? encodeCursor({ score: last.score, item_id: last.hit.item_id }) : null,
      model_version: page.modelVersion,
      request_id: randomUUID(),
    },
    ...(waited ? { headers: waited } : {}),
  };
}

interface Page {
  items: ScoredHit[];
  more: boolean;
  modelVersion: number | null;
}

/** Keyset pagination in the database: (score desc, item id asc) after the cursor. */
async function textPage(
  deps: SearchDeps,
  search: SearchQuery,
  params: SearchParams,
  version: number,
): Promise<Page> {
  const after = params.cursor && { score: params.cursor.score, item_id: params.cursor.item_id };
  const hits = await deps.search.search(search, params.n + 1, after, version);
  return {
    items: hits.slice(0, params.n).map((hit) => ({ hit, score: hit.relevance, source: "search" as const })),
    more: hits.length > params.n,
    modelVersion: null,
  };
}

/**
 * The best PERSONALISED_POOL text hits re-ranked for the user; pages are keyset slices of that order, so a page
 * neither repeats nor skips an item while the user's signals stay as they were.
 */
async function personalisedPage(
  deps: SearchDeps,
  search: SearchQuery,
  params: SearchParams,
  version: number,
): Promise<Page> {
  const hits = await deps.search.search(search, PERSONALISED_POOL, undefined, version);
  const ranked = await personalise(deps, params.userId!, hits);
  const cursor = params.cursor;
  const start = cursor
    ? ranked.findIndex(
        (r) => r.score < cursor.score || (r.score === cursor.score && r.hit.item_id > cursor.item_id),
      )
    : 0;
  const from = start < 0 ? ranked.length : start;
  return {
    items: ranked.slice(from, from + params.n),
    more: from + params.n < ranked.length,
    modelVersion: deps.ranker().version,
  };
}

/** GET /v1/items/:id/detail: the item, its live stats, its categories and its similar items. */
export async function answerItemDetail(
  deps: SearchDeps,
  itemId: string,
  query: Record<string, unknown>,
): Promise<JsonAnswer> {
  const parsed = parseDetailParams(query);
  const idError = checkId("itemId", itemId);
  if (!parsed.ok || idError)
    return badRequest([...(idError ? [idError] : []), ...(parsed.ok ? [] : parsed.errors)]);
  const { params } = parsed;
  const waited = await waitIfAsked(deps, params.minPosition);
  if (isAnswer(waited)) return waited;
  const detail = await deps.details.read(itemId, deps.now ? deps.now() : (deps.clock ?? systemClock).now());
  if (!detail)
    return {
      status: 404,
      body: { error: "not_found", message: `no item "${itemId}" in the catalog read model` },
    };
  const similar = params.include.has("similar")
    ? await similarItems(deps, itemId, params.similarN, [])
    : undefined;
  return {
    status: 200,
    body: {
      item: detail.item,
      categories: detail.categories,
      ...(params.include.has("stats") ? { stats: detail.stats } : {}),
      ...(similar ? { similar: similar.items } : {}),
      request_id: randomUUID(),
    },
    ...(waited ? { headers: waited } : {}),
  };
}
