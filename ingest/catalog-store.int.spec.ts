import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase, type Database } from "../core/postgres/database.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { createTestDatabase } from "../core/testing/stack.ts";
import { readItem, writeItems } from "./catalog-store.ts";

/** The catalog's SQL (row locks, unnest of jsonb[], ON CONFLICT) on both adapters of the SQL port. */
const adapters: Array<{ name: string; open: () => Promise<{ db: Database; dispose: () => Promise<void> }> }> =
  [
    {
      name: "pg on the Postgres server",
      open: async () => {
        const test = await createTestDatabase();
        return { db: test.db, dispose: test.drop };
      },
    },
    {
      name: "PGlite in memory",
      open: async () => {
        const db = openDatabase("pglite://");
        await migrate(db);
        return { db, dispose: () => db.close() };
      },
    },
  ];

for (const adapter of adapters)
  describe(`catalog store: ${adapter.name}`, () => {
    it("creates, refuses a stale version, updates and leaves identical content unchanged", async () => {
      const { db, dispose } = await adapter.open();
      try {
        const write = {
          item_id: "c-1",
          title: "A",
          categories: ["c"],
          attributes: { n: 1 },
          available: true,
        };
        const now = new Date("2026-01-01T00:00:00Z");
        assert.equal((await writeItems(db, [write], now)).outcomes[0]?.status, "created");
        assert.deepEqual(
          (await writeItems(db, [{ ...write, title: "B", expected_version: 0 }], now)).outcomes[0],
          {
            item_id: "c-1",
            status: "conflict",
            expected_version: 0,
            current_version: 1,
          },
        );
        const updated = await writeItems(db, [{ ...write, title: "B", expected_version: 1 }], now);
        assert.equal(updated.outcomes[0]?.status, "updated");
        assert.ok(updated.head, "a change returns its log position");
        assert.equal(
          (await writeItems(db, [{ ...write, title: "B" }], now)).outcomes[0]?.status,
          "unchanged",
        );
        const item = await readItem(db, "c-1");
        assert.equal(item?.title, "B");
        assert.equal(item?.version, 2);
        assert.deepEqual(item?.attributes, { n: 1 });
      } finally {
        await dispose();
      }
    });
  });
