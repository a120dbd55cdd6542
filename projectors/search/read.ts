import type { Queryable } from "../../core/postgres/database.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import type { ReadModelPositions } from "../../core/read-models/positions.ts";
import type { LogTransport } from "../../core/log-transport/port.ts";
import type { Database } from "../../core/postgres/database.ts";
import { decayedValue, readWindows } from "../runtime/decay.ts";
import { ProjectionStatus } from "../status/status.ts";
import { ITEM_DETAIL_PROJECTION } from "./item-detail-model.ts";
import { SEARCH_PROJECTION } from "./search-model.ts";
import { createSqlProjection, currentVersion } from "./sql-projection.ts";
import { catalogReadModels } from "./index.ts";
import { allowedEdits, buildTextQuery, facetValue, queryTokens, typoMatches } from "./text.ts";

/** What a search asks for: words (optional) and filters. */
export interface SearchQuery {
  q?: string;
  /** Keep items in any of these categories (empty: all). */
  categories: readonly string[];
  /** Keep items whose attribute KEY has VALUE (every pair must hold). */
  attributes: readonly (readonly [string, string])[];
  /** true: available items only; false: unavailable only; undefined: both. */
  available: boolean | undefined;
}

export interface SearchHit {
  item_id: string;
  title: string;
  categories: string[];
  attributes: Record<string, unknown>;
  available: boolean;
  /** Text relevance (0 when the query has no words). */
  relevance: number;
}

/** Where the previous page ended: the last hit's score and id (hits are ordered by score desc, then id). */
export interface SearchAfter {
  score: number;
  item_id: string;
}

export interface FacetCount {
  value: string;
  count: number;
}

export interface SearchFacets {
  total: number;
  categories: FacetCount[];
  attributes: Record<string, FacetCount[]>;
}

/** Facet values returned per facet, most frequent first. */
export const FACET_VALUES_SHOWN = 20;

interface Compiled {
  where: string;
  params: unknown[];
  score: string;
}

/**
 * Searches the search read model (Postgres full text + trigram vocabulary) at the version readers use. The
 * same SQL runs on a Postgres server and on PGlite (the embedded mode), through the SQL port.
 */
export class SearchReader {
  constructor(private readonly db: Queryable) {}

  version(): Promise<number> {
    return currentVersion(this.db, SEARCH_PROJECTION);
  }

  /** The indexed words each query word may be a typo of (one round trip for all words). */
  private async typos(version: number, tokens: readonly string[]): Promise<Map<string, string[]>> {
    const typos = new Map<string, string[]>();
    const fuzzy = tokens.filter((t) => allowedEdits(t) > 0);
    if (fuzzy.length === 0) return typos;
    const { rows } = await this.db.query<{ token: string; term: string }>(
      `SELECT q.token, t.term FROM unnest($2::text[]) AS q(token)
         CROSS JOIN LATERAL (
           SELECT term FROM search_terms WHERE version = $1 AND term % q.token
            ORDER BY similarity(term, q.token) DESC LIMIT 20) AS t`,
      [version, fuzzy],
    );
    for (const token of fuzzy)
      typos.set(
        token,
        typoMatches(
          token,
          rows.filter((r) => r.token === token).map((r) => r.term),
        ),
      );
    return typos;
  }

  /** The WHERE clause and its parameters; with `scored`, the relevance expression too ("0" without words). */
  private async compile(version: number, query: SearchQuery, scored: boolean): Promise<Compiled> {
    const params: unknown[] = [version];
    const p = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ["version = $1"];
    let score = "0::real";
    const tokens = queryTokens(query.q ?? "");
    if (tokens.length > 0) {
      const text = buildTextQuery(tokens, await this.typos(version, tokens));
      const match = `to_tsquery('simple', ${p(text.match)})`;
      where.push(`document @@ ${match}`);
      // Exact words count twice: once in the match, once as the bonus.
      if (scored)
        score = `(ts_rank(document, ${match}) + ts_rank(document, to_tsquery('simple', ${p(text.exact)})))::real`;
    }
    if (query.categories.length > 0) where.push(`categories && ${p(query.categories)}::text[]`);
    if (query.attributes.length > 0)
      where.push(`facet_values @> ${p(query.attributes.map(([k, v]) => facetValue(k, v)))}::text[]`);
    if (query.available !== undefined) where.push(`available = ${p(query.available)}`);
    return { where: where.join(" AND "), params, score };
  }

  /** Hits best first (score desc, then item id), after `after`, at most `limit`. */
  async search(
    query: SearchQuery,
    limit: number,
    after?: SearchAfter,
    version?: number,
  ): Promise<SearchHit[]> {
    const v = version ?? (await this.version());
    const { where, params, score } = await this.compile(v, query, true);
    let page = "";
    if (after) {
      params.push(after.score, after.item_id);
      const s = `$${params.length - 1}::real`;
      const i = `$${params.length}::text`;
      page = `WHERE score < ${s} OR (score = ${s} AND item_id > ${i})`;
    }
    params.push(limit);
    const { rows } = await this.db.query<SearchHit & { score: number }>(
      `SELECT item_id, title, categories, attributes, available, score FROM (
         SELECT item_id, title, categories, attributes, available, ${score} AS score
           FROM search_documents WHERE ${where}) AS hits
       ${page}
       ORDER BY score DESC, item_id ASC LIMIT $${params.length}`,
      params,
    );
    return rows.map(({ score: s, ...hit }) => ({ ...hit, relevance: Number(s) }));
  }

  /** How many items match, and per category and per facetable attribute value how many of them. */
  async facets(query: SearchQuery, facetable: readonly string[], version?: number): Promise<SearchFacets> {
    const v = version ?? (await this.version());
    const { where, params } = await this.compile(v, query, false);
    params.push(facetable, FACET_VALUES_SHOWN);
    const keys = `$${params.length - 1}::text[]`;
    const shown = `$${params.length}`;
    const { rows } = await this.db.query<{ kind: string; value: string; count: number }>(
      `WITH hits AS MATERIALIZED (SELECT categories, facet_values FROM search_documents WHERE ${where}),
       cats AS (SELECT c AS value, count(*)::int AS count FROM hits, unnest(categories) AS c GROUP BY c),
       attrs AS (SELECT f AS value, count(*)::int AS count FROM hits, unnest(facet_values) AS f
                  WHERE split_part(f, '=', 1) = ANY(${keys}) GROUP BY f),
       ranked AS (
         SELECT 'category' AS kind, value, count,
                row_number() OVER (ORDER BY count DESC, value) AS n FROM cats
         UNION ALL
         SELECT 'attribute', value, count,
                row_number() OVER (PARTITION BY split_part(value, '=', 1) ORDER BY count DESC, value) FROM attrs)
       SELECT 'total' AS kind, '' AS value, count(*)::int AS count FROM hits
       UNION ALL
       SELECT kind, value, count FROM ranked WHERE n <= ${shown}`,
      params,
    );
    const facets: SearchFacets = { total: 0, categories: [], attributes: {} };
    for (const key of facetable) facets.attributes[key] = [];
    for (const row of rows) {
      if (row.kind === "total") facets.total = row.count;
      else if (row.kind === "category") facets.categories.push({ value: row.value, count: row.count });
      else {
        const at = row.value.indexOf("=");
        facets.attributes[row.value.slice(0, at)]?.push({ value: row.value.slice(at + 1), count: row.count });
      }
    }
    const order = (a: FacetCount, b: FacetCount) =>
      b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
    facets.categories.sort(order);
    for (const list of Object.values(facets.attributes)) list.sort(order);
    return facets;
  }
}

export interface ItemDetail {
  item: Record<string, unknown>;
  categories: string[];
  stats: {
    counts: Record<string, number>;
    /** Decayed popularity at read time (short and long half-life), the features projection's weights. */
    popularity: { short: number; long: number };
  };
}

/** Reads the item-detail read model at the version readers use. */
export class ItemDetailReader {
  constructor(
    private readonly db: Queryable,
    private readonly config: FeaturesConfig,
  ) {}

  async read(itemId: string, nowMs: number): Promise<ItemDetail | undefined> {
    const version = await currentVersion(this.db, ITEM_DETAIL_PROJECTION);
    const [item, counts, windows] = await Promise.all([
      this.db.query<{ item: Record<string, unknown> & { categories?: string[] } }>(
        `SELECT item FROM item_details WHERE version = $1 AND item_id = $2`,
        [version, itemId],
      ),
      this.db.query<{ type: string; count: number }>(
        `SELECT type, count FROM item_detail_counts WHERE version = $1 AND item_id = $2 ORDER BY type`,
        [version, itemId],
      ),
      this.db.query<{ horizon: string; window_index: number; value: number }>(
        `SELECT horizon, window_index, value FROM item_detail_popularity
          WHERE version = $1 AND item_id = $2 AND window_index >= $3`,
        [version, itemId, Math.min(...this.horizons().map((h) => readWindows(h, nowMs).at(-1)!))],
      ),
    ]);
    const row = item.rows[0];
    if (!row) return undefined;
    const popularity = (h: FeaturesConfig["popularityShort"]) => {
      const wanted = new Set(readWindows(h, nowMs));
      const counters = new Map<number, number>();
      for (const w of windows.rows)
        if (w.horizon === h.name && wanted.has(Number(w.window_index)))
          counters.set(Number(w.window_index), Number(w.value));
      return decayedValue(h, counters, nowMs);
    };
    return {
      item: row.item,
      categories: row.item.categories ?? [],
      stats: {
        counts: Object.fromEntries(counts.rows.map((c) => [c.type, Number(c.count)])),
        popularity: {
          short: popularity(this.config.popularityShort),
          long: popularity(this.config.popularityLong),
        },
      },
    };
  }

  private horizons() {
    return [this.config.popularityShort, this.config.popularityLong];
  }
}

/**
 * Read-your-writes for the catalog read models: waits (bounded) until search and item detail have passed a
 * write's position, as the projectors' status computes it (applied positions here, committed offsets there).
 */
export function catalogReadModelPositions(options: {
  db: Database;
  /** Where the projectors read the log (core/log-transport); the caller owns it. */
  transport: LogTransport;
  groupPrefix?: string;
  features: FeaturesConfig;
}): ReadModelPositions {
  const models = Object.values(catalogReadModels(options.features));
  const status = new ProjectionStatus({
    db: options.db,
    transport: options.transport,
    projections: models.map((m) => createSqlProjection(options.db, m)),
    ...(options.groupPrefix !== undefined ? { groupPrefix: options.groupPrefix } : {}),
  });
  const names = models.map((m) => m.name);
  return {
    waitForPosition: (token, timeoutMs) => status.waitForPosition(names, token, timeoutMs),
    close: () => status.close(),
  };
}
