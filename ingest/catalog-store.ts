import { randomUUID } from "node:crypto";
import type { Database } from "../core/postgres/database.ts";
import type { CatalogItem, ItemBody } from "../core/contracts/item.ts";
import { type LogPosition, maxLogPosition } from "../core/contracts/position.ts";
import { canonicalJson } from "../core/canonical-json.ts";
import { EVENTS_CHANNEL, insertEvents } from "../core/event-store/event-store.ts";

export type ItemWrite = ItemBody & { item_id: string };

export type ItemWriteOutcome =
  | { item_id: string; status: "created" | "updated" | "unchanged"; item: CatalogItem }
  | { item_id: string; status: "conflict"; expected_version: number; current_version: number };

/**
 * Writes catalog entries, each a versioned aggregate. A write naming `expected_version` is refused with a
 * conflict when the stored version differs (optimistic concurrency). Each change is also appended to the log
 * as an `item_changed` event carrying the whole new state, so projectors never need to read this table.
 */
export async function writeItems(
  db: Database,
  writes: readonly ItemWrite[],
  now: Date,
): Promise<{ outcomes: ItemWriteOutcome[]; head: LogPosition | undefined }> {
  return db.transaction(async (tx) => {
    const ids = writes.map((w) => w.item_id);
    // Row locks in a stable order: concurrent batches touching the same items cannot deadlock.
    const { rows } = await tx.query<{ item_id: string; version: number; data: CatalogItem }>(
      "SELECT item_id, version, data FROM items WHERE item_id = ANY($1::text[]) ORDER BY item_id FOR UPDATE",
      [ids],
    );
    const current = new Map(rows.map((r) => [r.item_id, r]));
    const outcomes: ItemWriteOutcome[] = [];
    const changed: CatalogItem[] = [];
    for (const w of writes) {
      const existing = current.get(w.item_id);
      const version = existing?.version ?? 0;
      if (w.expected_version !== undefined && w.expected_version !== version) {
        outcomes.push({
          item_id: w.item_id,
          status: "conflict",
          expected_version: w.expected_version,
          current_version: version,
        });
        continue;
      }
      const next: CatalogItem = {
        item_id: w.item_id,
        version: version + 1,
        categories: w.categories,
        attributes: w.attributes,
        available: w.available,
        updated_at: now.toISOString(),
        ...(w.title !== undefined ? { title: w.title } : {}),
        ...(w.published_at !== undefined ? { published_at: w.published_at } : {}),
      };
      if (existing && sameContent(existing.data, next)) {
        outcomes.push({ item_id: w.item_id, status: "unchanged", item: existing.data });
        continue;
      }
      current.set(w.item_id, { item_id: w.item_id, version: next.version, data: next });
      changed.push(next);
      outcomes.push({ item_id: w.item_id, status: existing ? "updated" : "created", item: next });
    }
    if (changed.length === 0) return { outcomes, head: undefined };
    // A batch may name one item twice: only its final state is stored (and both changes are logged).
    const finalState = new Map(changed.map((c) => [c.item_id, c]));
    await tx.query(
      `INSERT INTO items (item_id, version, data, updated_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::jsonb[], $4::timestamptz[])
       ON CONFLICT (item_id) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
      [
        [...finalState.keys()],
        [...finalState.values()].map((c) => c.version),
        [...finalState.values()].map((c) => JSON.stringify(c)),
        [...finalState.values()].map(() => now.toISOString()),
      ],
    );
    const inserted = await insertEvents(
      tx,
      "catalog",
      changed.map((item) => ({
        event_id: randomUUID(),
        type: "item_changed",
        item_id: item.item_id,
        timestamp: now.toISOString(),
        item,
      })),
    );
    await tx.query("SELECT pg_notify($1, '')", [EVENTS_CHANNEL]);
    const head = [...inserted.values()].reduce<LogPosition | undefined>(
      (h, p) => (h ? maxLogPosition(h, p) : p),
      undefined,
    );
    return { outcomes, head };
  });
}

export async function readItem(db: Database, itemId: string): Promise<CatalogItem | undefined> {
  const { rows } = await db.query<{ data: CatalogItem }>("SELECT data FROM items WHERE item_id = $1", [
    itemId,
  ]);
  return rows[0]?.data;
}

function sameContent(a: CatalogItem, b: CatalogItem): boolean {
  const strip = ({ version: _v, updated_at: _u, ...rest }: CatalogItem) => rest;
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}
