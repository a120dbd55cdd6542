import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { createTestDatabase } from "../testing/stack.ts";
import { openDatabase, type Database } from "../postgres/database.ts";
import { migrate } from "../postgres/migrate.ts";
import { recommendationServed } from "../contracts/recommendation-served.ts";
import { appendRecommendationsServed } from "./event-store.ts";

const record = (user: string, items: string[], experiment?: { key: string; variant: string }) =>
  recommendationServed({
    recommendationId: randomUUID(),
    userId: user,
    at: new Date("2026-12-07T10:00:00.123Z"),
    modelVersion: 3,
    experiment,
    items: items.map((item_id) => ({ item_id, source: "neighbours" })),
  });

/** Both databases serving may write to: the Postgres server and the embedded PGlite. */
const databases: [string, () => Promise<{ db: Database; dispose(): Promise<void> }>][] = [
  [
    "Postgres server",
    async () => {
      const t = await createTestDatabase();
      return { db: t.db, dispose: t.drop };
    },
  ],
  [
    "PGlite",
    async () => {
      const db = openDatabase("pglite://");
      await migrate(db);
      return { db, dispose: () => db.close() };
    },
  ],
];

for (const [name, open] of databases) {
  describe(`appendRecommendationsServed on ${name}`, () => {
    it("stores each record once as a recommendation row (a repeated record is skipped) and counts what it stored", async () => {
      const { db, dispose } = await open();
      try {
        const a = record("u1", ["i1", "i2"], { key: "exp", variant: "b" });
        const b = record("u2", ["i3"]);
        assert.deepEqual(await appendRecommendationsServed(db, [a, b, a]), { stored: 2 });
        assert.deepEqual(await appendRecommendationsServed(db, [b]), { stored: 0 });
        assert.deepEqual(await appendRecommendationsServed(db, []), { stored: 0 });
        const { rows } = await db.query<Record<string, unknown>>(
          `SELECT event_id::text, kind, type, user_id, item_id, occurred_at, payload FROM events ORDER BY position`,
        );
        assert.deepEqual(
          rows.map((r) => ({ ...r, occurred_at: new Date(r.occurred_at as string).toISOString() })),
          [a, b].map((r) => ({
            event_id: r.event_id,
            kind: "recommendation",
            type: "recommendation_served",
            user_id: r.user_id,
            item_id: null,
            occurred_at: "2026-12-07T10:00:00.123Z",
            payload: r,
          })),
        );
      } finally {
        await dispose();
      }
    });
  });
}
