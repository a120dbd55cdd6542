import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../core/testing/stack.ts";
import { openDatabase, type Database } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { writeItems, type ItemWrite } from "../../ingest/catalog-store.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { decayedValue } from "../runtime/decay.ts";
import { catalogReadModels, createSqlProjection, replaySqlReadModel } from "./index.ts";
import { ItemDetailReader, SearchReader, type SearchQuery } from "./read.ts";
import type { Projection } from "../runtime/projection.ts";

/**
 * The catalog read models on both adapters of the SQL port: the stack's Postgres and PGlite (the embedded
 * mode), the same migrations and SQL. A small catalog with known answers.
 */
const TOPIC = "test.events";
const FACETS = ["brand", "colour"];

const CATALOG: ItemWrite[] = [
  {
    item_id: "lamp1",
    title: "Brass desk lamp",
    categories: ["lighting"],
    attributes: { brand: "Lumo", colour: "gold", watts: 40 },
    available: true,
  },
  {
    item_id: "lamp2",
    title: "Lamp shade linen",
    categories: ["lighting"],
    attributes: { brand: "Shadow", colour: "white" },
    available: true,
  },
  {
    item_id: "lamp3",
    title: "Floor lamp",
    categories: ["lighting"],
    attributes: { brand: "Lumo", colour: "black" },
    available: false,
  },
  {
    item_id: "lamplight",
    title: "Lamplight stories",
    categories: ["books"],
    attributes: {},
    available: true,
  },
  {
    item_id: "lantern",
    title: "Camping lantern",
    categories: ["outdoor", "lighting"],
    attributes: { brand: "Trail", colour: "green" },
    available: true,
  },
  {
    item_id: "clamp",
    title: "Bench clamp",
    categories: ["tools"],
    attributes: { brand: "Grip", colour: "red" },
    available: true,
  },
  {
    item_id: "keyboard",
    title: "Mechanical keyboard",
    categories: ["computers"],
    attributes: { brand: "Clack", colour: "black" },
    available: true,
  },
  {
    item_id: "speaker",
    title: "Lumo speaker",
    categories: ["audio"],
    attributes: { brand: "Lumo" },
    available: true,
  },
];

const backends: { name: string; open(): Promise<{ db: Database; close(): Promise<void> }> }[] = [
  {
    name: "Postgres",
    async open() {
      const t: TestDatabase = await createTestDatabase();
      return { db: t.db, close: () => t.drop() };
    },
  },
  {
    name: "PGlite",
    async open() {
      const db = openDatabase("pglite://");
      await migrate(db);
      return { db, close: () => db.close() };
    },
  },
];

for (const backend of backends)
  describe(`catalog read models on ${backend.name}`, () => {
    let db: Database;
    let close: () => Promise<void>;
    let search: SearchReader;
    let projections: Projection[];
    let position: LogPosition = LOG_START;
    const now = Date.now();
    const minutesAgo = (m: number) => new Date(now - m * 60_000).toISOString();

    /** Projects what the log gained since the last call: catalog changes on partition 0, interactions on 1. */
    async function project(): Promise<LogMessage[]> {
      const messages = await readLogBatch(db, position, 10_000);
      if (messages.length === 0) return [];
      position = toLogPosition(messages.at(-1)!);
      for (const partition of [0, 1]) {
        const part = messages.filter((m) => (m.kind === "catalog" ? 0 : 1) === partition);
        if (part.length === 0) continue;
        const batch = {
          topic: TOPIC,
          partition,
          messages: part.map((message, i) => ({ offset: String(i), message })),
        };
        for (const p of projections) await p.apply(batch);
      }
      return messages;
    }

    const q = (query: Partial<SearchQuery>): SearchQuery => ({
      categories: [],
      attributes: [],
      available: true,
      ...query,
    });
    const ids = async (query: Partial<SearchQuery>, n = 50) =>
      (await search.search(q(query), n)).map((h) => h.item_id);

    before(async () => {
      ({ db, close } = await backend.open());
      search = new SearchReader(db);
      projections = Object.values(catalogReadModels(DEFAULT_FEATURES_CONFIG)).map((m) =>
        createSqlProjection(db, m),
      );
      await writeItems(db, CATALOG, new Date(now - 3_600_000));
      const event = (user: string, item: string, type: string, m: number) => ({
        event_id: randomUUID(),
        type,
        user_id: user,
        item_id: item,
        timestamp: minutesAgo(m),
      });
      await appendInteractionEvents(db, [
        event("u1", "lamp1", "view", 30),
        event("u2", "lamp1", "view", 20),
        event("u2", "lamp1", "purchase", 10),
        event("u3", "lamp2", "view", 5),
      ]);
      await project();
    });

    after(async () => {
      await close();
    });

    test("an exact word finds its items, exact before prefix; unavailable items are left out by default", async () => {
      assert.deepEqual(await ids({ q: "lamp" }), ["lamp1", "lamp2", "lamplight"]);
    });

    test("a prefix finds the words it starts", async () => {
      assert.deepEqual(await ids({ q: "lan" }), ["lantern"]);
      assert.deepEqual(await ids({ q: "mech key" }), ["keyboard"]);
    });

    test("one typo (a swapped pair) still finds the word; short words get no typos", async () => {
      assert.deepEqual(await ids({ q: "lantren" }), ["lantern"]);
      assert.deepEqual(await ids({ q: "keybaord" }), ["keyboard"]);
      assert.deepEqual(await ids({ q: "lmap" }), []);
    });

    test("the title weighs more than the text attributes", async () => {
      assert.deepEqual(await ids({ q: "lumo" }), ["speaker", "lamp1"]);
    });

    test("facets count the matches per category and per declared attribute", async () => {
      assert.deepEqual(await search.facets(q({ q: "lamp" }), FACETS), {
        total: 3,
        categories: [
          { value: "lighting", count: 2 },
          { value: "books", count: 1 },
        ],
        attributes: {
          brand: [
            { value: "Lumo", count: 1 },
            { value: "Shadow", count: 1 },
          ],
          colour: [
            { value: "gold", count: 1 },
            { value: "white", count: 1 },
          ],
        },
      });
      const all = await search.facets(q({ available: undefined }), ["brand"]);
      assert.equal(all.total, 8);
      assert.deepEqual(all.attributes.brand![0], { value: "Lumo", count: 3 });
    });

    test("filters: category, attribute, availability", async () => {
      assert.deepEqual(await ids({ q: "lamp", categories: ["lighting"] }), ["lamp1", "lamp2"]);
      assert.deepEqual(await ids({ q: "lamp", attributes: [["brand", "Lumo"]] }), ["lamp1"]);
      assert.deepEqual(await ids({ attributes: [["watts", "40"]] }), ["lamp1"]);
      assert.deepEqual(await ids({ q: "lamp", available: undefined }), [
        "lamp1",
        "lamp2",
        "lamp3",
        "lamplight",
      ]);
      assert.deepEqual(await ids({ q: "lamp", available: false }), ["lamp3"]);
    });

    test("pages follow each other without repeats or gaps, with and without words", async () => {
      for (const query of [
        q({ available: undefined }),
        q({ q: "lamp lumo", available: undefined }),
        q({ q: "lamp", available: undefined }),
      ]) {
        const all = (await search.search(query, 100)).map((h) => h.item_id);
        assert.ok(all.length > 0);
        const pages: string[] = [];
        let after: { score: number; item_id: string } | undefined;
        for (;;) {
          const page = await search.search(query, 2, after);
          pages.push(...page.map((h) => h.item_id));
          if (page.length < 2) break;
          after = { score: page.at(-1)!.relevance, item_id: page.at(-1)!.item_id };
        }
        assert.deepEqual(pages, all);
      }
    });

    test("item detail: the item, its counts by type and its decayed popularity", async () => {
      const details = new ItemDetailReader(db, DEFAULT_FEATURES_CONFIG);
      const detail = await details.read("lamp1", now);
      assert.equal(detail!.item.title, "Brass desk lamp");
      assert.deepEqual(detail!.categories, ["lighting"]);
      assert.deepEqual(detail!.stats.counts, { purchase: 1, view: 2 });
      const h = DEFAULT_FEATURES_CONFIG.popularityLong;
      // 1·2^(−30 min/h) + 1·2^(−20 min/h) + 5·2^(−10 min/h): the features projection's weights.
      const expected = [30, 20, 10].reduce(
        (s, m, i) => s + (i === 2 ? 5 : 1) * 2 ** (-(m * 60_000) / h.ms),
        0,
      );
      assert.ok(
        Math.abs(detail!.stats.popularity.long - expected) < 1e-5,
        `${detail!.stats.popularity.long} ≈ ${expected}`,
      );
      assert.equal(decayedValue(h, new Map(), now), 0);
      assert.equal(await details.read("nothing", now), undefined);
    });

    test("a redelivered batch changes nothing", async () => {
      const before = await dump(db);
      const messages = await readLogBatch(db, LOG_START, 10_000);
      for (const partition of [0, 1]) {
        const part = messages.filter((m) => (m.kind === "catalog" ? 0 : 1) === partition);
        const batch = {
          topic: TOPIC,
          partition,
          messages: part.map((message, i) => ({ offset: String(i), message })),
        };
        for (const p of projections) await p.apply(batch);
        // And a part of one (the runtime's bisection applies halves).
        for (const p of projections) await p.apply({ ...batch, messages: batch.messages.slice(1) });
      }
      assert.deepEqual(await dump(db), before);
    });

    test("a change becomes searchable, and an older version never overwrites a newer one", async () => {
      await writeItems(
        db,
        [{ ...CATALOG[0]!, title: "Brass desk lamp with dimmer", available: false }],
        new Date(),
      );
      const changes = await project();
      assert.deepEqual(await ids({ q: "dimmer" }), []);
      assert.deepEqual(await ids({ q: "dimmer", available: false }), ["lamp1"]);
      // The older change again, as a late redelivery on a fresh source: version 1 does not come back.
      const older = (await readLogBatch(db, LOG_START, 10_000)).filter(
        (m) => m.kind === "catalog" && m.event.item_id === "lamp1" && m.event.item.version === 1,
      );
      assert.equal(changes.length, 1);
      for (const p of projections)
        await p.apply({
          topic: TOPIC,
          partition: 7,
          messages: older.map((message) => ({ offset: "0", message })),
        });
      assert.deepEqual(await ids({ q: "dimmer", available: false }), ["lamp1"]);
    });

    test("a rebuild from the log equals the live read model, and the live consumer goes on from it", async () => {
      const live = await dump(db);
      for (const model of Object.values(catalogReadModels(DEFAULT_FEATURES_CONFIG))) {
        const result = await replaySqlReadModel({ db, model, topic: TOPIC, partitions: 8 });
        assert.equal(result.version, result.previousVersion + 1);
      }
      const rebuilt = await dump(db);
      // Terms of superseded titles stay in the live vocabulary until a rebuild; everything else is identical.
      assert.deepEqual({ ...rebuilt, terms: [] }, { ...live, terms: [] });
      assert.ok(rebuilt.terms.every((t) => live.terms.includes(t)));
      await writeItems(
        db,
        [
          {
            item_id: "torch",
            title: "Pocket torch",
            categories: ["outdoor"],
            attributes: {},
            available: true,
          },
        ],
        new Date(),
      );
      await project();
      assert.deepEqual(await ids({ q: "torch" }), ["torch"]);
      assert.equal(await search.version(), 2);
    });
  });

/** Every row of the versions readers use, without the version column, in a stable order. */
async function dump(db: Database) {
  const v = async (projection: string) =>
    (
      await db.query<{ version: number }>(`SELECT version FROM catalog_read_versions WHERE projection = $1`, [
        projection,
      ])
    ).rows[0]?.version ?? 1;
  const s = await v("search");
  const d = await v("item-detail");
  const rows = async (sql: string, version: number) => (await db.query(sql, [version])).rows;
  return {
    documents: await rows(
      `SELECT item_id, item_version, title, categories, attributes, facet_values, available, document::text
         FROM search_documents WHERE version = $1 ORDER BY item_id`,
      s,
    ),
    terms: (await rows(`SELECT term FROM search_terms WHERE version = $1 ORDER BY term`, s)).map(
      (r) => r.term as string,
    ),
    details: await rows(
      `SELECT item_id, item_version, item FROM item_details WHERE version = $1 ORDER BY item_id`,
      d,
    ),
    counts: await rows(
      `SELECT item_id, type, count FROM item_detail_counts WHERE version = $1 ORDER BY 1, 2`,
      d,
    ),
    popularity: await rows(
      `SELECT item_id, horizon, window_index, value FROM item_detail_popularity WHERE version = $1 ORDER BY 1, 2, 3`,
      d,
    ),
  };
}
