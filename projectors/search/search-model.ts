import type { CatalogItem } from "../../core/contracts/item.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { SqlReadModel } from "./sql-projection.ts";
import { documentText, facetValues } from "./text.ts";

export const SEARCH_PROJECTION = "search";

/** The latest change per item in a run of messages (a higher item version wins; log order breaks ties). */
export function latestItems(messages: readonly LogMessage[]): CatalogItem[] {
  const latest = new Map<string, CatalogItem>();
  for (const m of messages) {
    if (m.kind !== "catalog") continue;
    const item = m.event.item;
    const seen = latest.get(item.item_id);
    if (!seen || item.version >= seen.version) latest.set(item.item_id, item);
  }
  return [...latest.values()].sort((a, b) => (a.item_id < b.item_id ? -1 : a.item_id > b.item_id ? 1 : 0));
}

/**
 * The search read model: one document per catalog item (`search_documents`) and the vocabulary (`search_terms`)
 * that typo tolerance looks words up in. Fed by catalog changes only; a lower item version never overwrites a
 * higher one, so a change redelivered late changes nothing.
 */
export const searchReadModel: SqlReadModel = {
  name: SEARCH_PROJECTION,

  async apply(tx: Queryable, version: number, messages: readonly LogMessage[]): Promise<void> {
    const items = latestItems(messages);
    if (items.length === 0) return;
    const rows = items.map((item) => {
      const { title, body } = documentText(item);
      return {
        item_id: item.item_id,
        item_version: item.version,
        title,
        body,
        categories: item.categories,
        attributes: item.attributes,
        facet_values: facetValues(item.attributes),
        available: item.available,
      };
    });
    await tx.query(
      `INSERT INTO search_documents
         (version, item_id, item_version, title, categories, attributes, facet_values, available, document)
       SELECT $1, r.item_id, r.item_version, r.title, r.categories, r.attributes, r.facet_values, r.available,
              setweight(to_tsvector('simple', r.title), 'A') || setweight(to_tsvector('simple', r.body), 'B')
         FROM jsonb_to_recordset($2::jsonb) AS r(item_id text, item_version integer, title text, body text,
              categories text[], attributes jsonb, facet_values text[], available boolean)
       ON CONFLICT (version, item_id) DO UPDATE SET
         item_version = excluded.item_version, title = excluded.title, categories = excluded.categories,
         attributes = excluded.attributes, facet_values = excluded.facet_values, available = excluded.available,
         document = excluded.document
       WHERE search_documents.item_version <= excluded.item_version`,
      [version, JSON.stringify(rows)],
    );
    // Words are taken from the stored documents, so the vocabulary holds exactly what the parser indexed.
    await tx.query(
      `INSERT INTO search_terms (version, term)
       SELECT DISTINCT $1::integer, w.lexeme FROM search_documents d, unnest(d.document) AS w
        WHERE d.version = $1 AND d.item_id = ANY($2::text[])
       ORDER BY 2
       ON CONFLICT (version, term) DO NOTHING`,
      [version, items.map((i) => i.item_id)],
    );
  },

  async deleteVersion(tx: Queryable, version: number): Promise<number> {
    const docs = await tx.query<{ n: number }>(
      `WITH d AS (DELETE FROM search_documents WHERE version = $1 RETURNING 1) SELECT count(*)::int AS n FROM d`,
      [version],
    );
    await tx.query(`DELETE FROM search_terms WHERE version = $1`, [version]);
    return docs.rows[0]?.n ?? 0;
  },
};
