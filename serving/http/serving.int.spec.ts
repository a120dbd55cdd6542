import { deleteMatching, uncachedReadSide } from "../ranking/testing.ts";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { uniqueName } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { closeRedis, interaction, REDIS_BACKENDS } from "../../projectors/runtime/testing.ts";
import { publishArtifact } from "../models/artifact-store.ts";
import { HEURISTIC_RANKER, type Ranker } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { servingRouter } from "./router.ts";

/**
 * The read API on real Redis, with read models written by the projectors' own projection code. Catalog:
 * movies m1..m6, books b1..b6, and x1 (a movie, the most popular item, but unavailable). Every test runs on a
 * single Redis and on a Redis Cluster; the last one checks both answered the same items to the same requests.
 */

/** Requests whose answers must not depend on the backend, asked after every test below has run. */
const COMPARED_REQUESTS = [
  "/v1/recommendations/nobody?n=5",
  "/v1/recommendations/nobody?n=4&category=books",
  "/v1/recommendations/ex?n=10&exclude=m2",
  "/v1/recommendations/everything?n=10",
  "/v1/recommendations/fresh?n=3",
  "/v1/recommendations/pc?n=4",
  "/v1/recommendations/p0?n=6",
  "/v1/items/b3/similar?n=3",
];
/** When the catalog below changed (one second apart, in this order); a minute before the file started. */
const CATALOG_CHANGED_FROM = Date.now() - 60_000;
const answersByBackend = new Map<string, Record<string, unknown>>();

for (const backend of REDIS_BACKENDS)
  describe(backend.name, () => {
    const redis = backend.open();
    const prefix = uniqueName("rkserve");
    const projections = [
      createFeaturesProjection(redis, { prefix }),
      createRecommendationsProjection(redis, { prefix }),
    ];
    let position = 1_000_000;
    let server: Awaited<ReturnType<typeof serveForTest>>;
    let ranker: Ranker = HEURISTIC_RANKER;
    let artifactVersion: number | undefined;

    async function apply(messages: LogMessage[]) {
      for (const p of projections) await p.applyMessages(messages, "test");
    }

    let catalogChanges = 0;
    function item(id: string, category: string, available = true): LogMessage {
      // The same distinct change times on both backends: the `catalog` source lists the latest changed first.
      const at = new Date(CATALOG_CHANGED_FROM + 1000 * catalogChanges++).toISOString();
      position++;
      return {
        kind: "catalog",
        position,
        transaction_id: String(position),
        received_at: at,
        event: {
          event_id: randomUUID(),
          type: "item_changed",
          item_id: id,
          timestamp: at,
          item: {
            item_id: id,
            version: 1,
            categories: [category],
            attributes: {},
            available,
            updated_at: at,
          },
        },
      };
    }

    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    const view = (user: string, itemId: string, m: number, type = "view") =>
      interaction(user, itemId, type, minutesAgo(m), ++position);

    type Body = {
      items: { item_id: string; score: number; source: string; model_version: number | null }[];
      model_version: number | null;
      recommendation_id: string;
      request_id: string;
    };
    const get = async (path: string) =>
      (await server.call("GET", path, { scope: "read" })) as { status: number; body: Body };
    const ids = (b: Body) => b.items.map((i) => i.item_id);
    const category = (id: string) => (id.startsWith("b") ? "books" : "movies");

    before(async () => {
      const catalog = [
        ...["m1", "m2", "m3", "m4", "m5", "m6"].map((id) => item(id, "movies")),
        ...["b1", "b2", "b3", "b4", "b5", "b6"].map((id) => item(id, "books")),
        item("x1", "movies", false),
      ];
      await apply(catalog);
      const events: LogMessage[] = [];
      // Popularity: x1 most, then m1.., b1..; every user also touches x1.
      for (let u = 0; u < 12; u++) {
        events.push(view(`p${u}`, "x1", 60));
        if (u < 10) events.push(view(`p${u}`, "m1", 59), view(`p${u}`, "b1", 58));
        if (u < 8) events.push(view(`p${u}`, "m2", 57), view(`p${u}`, "b2", 56));
        if (u < 6) events.push(view(`p${u}`, "m3", 55), view(`p${u}`, "b5", 54));
      }
      // b3 and b4 go together (and only together): b4 is b3's neighbour.
      for (let u = 0; u < 3; u++) events.push(view(`c${u}`, "b3", 40), view(`c${u}`, "b4", 39));
      await apply(events);

      const { features, readModel } = uncachedReadSide(redis, prefix);
      server = await serveForTest([
        servingRouter({
          readModel,
          features,
          ranker: () => ranker,
          config: { ...servingConfigFromEnv({}), cacheMs: 0 },
          keys: new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] }),
        }),
      ]);
    });

    after(async () => {
      await server?.close();
      await deleteMatching(redis, `${prefix}:*`);
      await closeRedis(redis);
    });

    test("a user with no history gets trending/popular items, never an unavailable one", async () => {
      const { status, body } = await get("/v1/recommendations/nobody?n=5");
      assert.equal(status, 200);
      assert.equal(body.items.length, 5);
      assert.equal(body.model_version, null);
      assert.match(body.request_id, /^[0-9a-f-]{36}$/);
      // Every answer names itself (for attribution) and says per item which model and source it came from.
      assert.match(
        body.recommendation_id,
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      assert.notEqual(
        (await get("/v1/recommendations/nobody?n=5")).body.recommendation_id,
        body.recommendation_id,
      );
      for (const item of body.items) {
        assert.equal(item.model_version, body.model_version);
        assert.ok(
          ["trending", "popular", "catalog", "affinity", "neighbours"].includes(item.source),
          item.source,
        );
      }
      assert.ok(!ids(body).includes("x1"), "x1 is unavailable");
      assert.deepEqual(new Set(body.items.map((i) => i.source)).has("neighbours"), false);
      // The two most popular available items lead.
      assert.deepEqual(new Set(ids(body).slice(0, 2)), new Set(["m1", "b1"]));
    });

    test("consumed and excluded items never appear", async () => {
      await apply([view("ex", "m1", 5), view("ex", "b1", 4)]);
      const { body } = await get("/v1/recommendations/ex?n=10&exclude=m2&exclude=b2,m3");
      const got = ids(body);
      for (const banned of ["m1", "b1", "m2", "b2", "m3", "x1"])
        assert.ok(!got.includes(banned), `${banned} in ${got}`);
      assert.ok(got.length > 0);
    });

    test("a user who consumed everything anyone interacted with still gets the rest of the catalog", async () => {
      const touched = ["x1", "m1", "m2", "m3", "b1", "b2", "b3", "b4", "b5"];
      await apply(touched.map((id, i) => view("everything", id, 30 - i)));
      const { body } = await get("/v1/recommendations/everything?n=10");
      // m4, m5, m6 and b6 were never interacted with: only the catalog knows them. x1 is unavailable.
      assert.deepEqual(new Set(ids(body)), new Set(["m4", "m5", "m6", "b6"]));
      assert.deepEqual(new Set(body.items.map((i) => i.source)), new Set(["catalog"]));
    });

    test("consumption is per interaction type: an exposure-like custom type does not consume", async () => {
      await apply([view("ty", "m1", 5, "impression")]);
      const { body } = await get("/v1/recommendations/ty?n=10");
      assert.ok(ids(body).includes("m1"), "an impression is not a consumed type by default");
    });

    test("category filter: one or several categories", async () => {
      const books = await get("/v1/recommendations/nobody?n=4&category=books");
      assert.equal(books.body.items.length, 4);
      assert.ok(
        ids(books.body).every((id) => category(id) === "books"),
        ids(books.body).join(),
      );
      const both = await get("/v1/recommendations/nobody?n=6&category=books&category=movies");
      assert.equal(both.body.items.length, 6);
    });

    test("the diversity cap keeps any one category to half the list when others are available", async () => {
      const { body } = await get("/v1/recommendations/nobody?n=4");
      const counts = new Map<string, number>();
      for (const id of ids(body)) counts.set(category(id), (counts.get(category(id)) ?? 0) + 1);
      assert.deepEqual(Object.fromEntries(counts), { books: 2, movies: 2 });
    });

    test("a click is reflected in the very next answer", async () => {
      const before = await get("/v1/recommendations/fresh?n=3");
      assert.ok(!ids(before.body).includes("b4"));
      await apply([view("fresh", "b3", 0, "click")]);
      const { body } = await get("/v1/recommendations/fresh?n=3");
      assert.equal(body.items[0]!.item_id, "b4");
      assert.equal(body.items[0]!.source, "neighbours");
      assert.ok(!ids(body).includes("b3"), "the clicked item is consumed");
    });

    test("similar items: the neighbour first, the item itself never", async () => {
      const { status, body } = await get("/v1/items/b3/similar?n=3");
      assert.equal(status, 200);
      assert.equal(body.items[0]!.item_id, "b4");
      assert.equal(body.items.length, 3);
      assert.ok(!ids(body).includes("b3"));
    });

    test("features show what the ranker sees", async () => {
      const { body } = (await server.call("GET", "/v1/users/fresh/features", { scope: "read" })) as {
        body: {
          recent: { item_id: string }[];
          ranker_input: { item_id: string; features: Record<string, number> }[];
        };
      };
      assert.equal(body.recent[0]!.item_id, "b3");
      const b4 = body.ranker_input.find((r) => r.item_id === "b4")!;
      assert.equal(b4.features.retrieval_rr, 1);
      assert.equal(b4.features.last_item_rr, 1);
    });

    test("malformed parameters are 400s naming field, rule and what was received", async () => {
      const cases: [string, string, unknown][] = [
        ["/v1/recommendations/u?n=0", "n", "0"],
        ["/v1/recommendations/u?n=abc", "n", "abc"],
        ["/v1/recommendations/u?n=201", "n", "201"],
        ["/v1/recommendations/u?min_position=yesterday", "min_position", "yesterday"],
        ["/v1/recommendations/u?country=germany", "country", "germany"],
        ["/v1/recommendations/u?colour=red", "colour", "red"],
        ["/v1/items/b3/similar?n=-1", "n", "-1"],
      ];
      for (const [path, field, received] of cases) {
        const res = (await server.call("GET", path, { scope: "read" })) as {
          status: number;
          body: { errors: { field: string; rule: string; received: unknown }[] };
        };
        assert.equal(res.status, 400, path);
        assert.equal(res.body.errors[0]!.field, field, path);
        assert.equal(res.body.errors[0]!.received, received, path);
        assert.ok(res.body.errors[0]!.rule.length > 0);
      }
      assert.equal((await server.call("GET", "/v1/recommendations/u", { scope: "none" })).status, 401);
      assert.equal((await server.call("GET", "/v1/recommendations/u", { scope: "write" })).status, 403);
    });

    test("user and item ids follow the one id rule of core/contracts, as ingest does (issue 16 item 7)", async () => {
      const emoji = encodeURIComponent("😀".repeat(129));
      for (const path of [
        `/v1/users/${emoji}/features`,
        `/v1/recommendations/${emoji}`,
        `/v1/items/${emoji}/similar`,
      ]) {
        assert.equal((await server.call("GET", path, { scope: "read" })).status, 200, path);
      }
      const rule = "must be 1–256 characters without whitespace or control characters";
      for (const [path, field, received] of [
        [`/v1/users/${encodeURIComponent("😀".repeat(257))}/features`, "userId", "😀".repeat(257)],
        [`/v1/recommendations/a%20b`, "userId", "a b"],
        [`/v1/items/a%00/similar`, "itemId", "a\u0000"],
      ] as const) {
        const res = (await server.call("GET", path, { scope: "read" })) as {
          status: number;
          body: { errors: { field: string; rule: string; received: unknown }[] };
        };
        assert.equal(res.status, 400, path);
        assert.deepEqual(res.body.errors[0], { field, rule, received }, path);
      }
    });

    test("serving's catalog facts read equals the catalog documents' fields", async () => {
      const features = new FeaturesReader(redis, prefix);
      const items = ["m1", "b3", "x1", "unknown-item"];
      const docs = await features.getItems(items);
      const facts = await features.getItemFacts(items);
      assert.deepEqual(
        facts,
        new Map([...docs].map(([id, d]) => [id, { available: d.available, categories: d.categories }])),
      );
      assert.equal(facts.get("x1")!.available, false);
      assert.equal(facts.has("unknown-item"), false);
    });

    test("the batch model's precomputed list leads, and an item touched after training adds its row at once", async () => {
      const trainedThrough = Date.now() - 90 * 60_000;
      await apply([view("pc", "m1", 100)]); // before trainedThrough: the model was trained on it
      const v = (artifactVersion = await publishArtifact(
        redis,
        prefix,
        {
          model: "test",
          params: {},
          neighbours: new Map([["b3", [{ item_id: "b6", score: 2 }]]]),
          itemBias: new Map(),
          popular: [],
          // m4 and m5 were never interacted with: only this list can propose them.
          userCandidates: new Map([
            [
              "pc",
              [
                { item_id: "m4", score: 0.9 },
                { item_id: "m5", score: 0.5 },
              ],
            ],
          ]),
          trainMs: 0,
        },
        { trainedThrough },
      ));
      ranker = { ...HEURISTIC_RANKER, artifactVersion: v };
      try {
        // The heuristic ranker puts retrieval's first item first; m5 (retrieval rank 1) competes with popular items.
        const first = await get("/v1/recommendations/pc?n=4");
        assert.equal(ids(first.body)[0], "m4");
        assert.ok(ids(first.body).includes("m5"), `${ids(first.body)}`);
        assert.ok(!ids(first.body).includes("b6"));
        await apply([view("pc", "b3", 1)]); // after training: b3's row joins the precomputed scores
        const next = await get("/v1/recommendations/pc?n=4");
        assert.deepEqual(ids(next.body).slice(0, 2), ["b6", "m4"]);
        assert.ok(!ids(next.body).includes("b3"));
      } finally {
        ranker = HEURISTIC_RANKER;
      }
    });

    test("record this backend's answers (compared across backends below)", async () => {
      const answers: Record<string, unknown> = {};
      ranker = { ...HEURISTIC_RANKER, artifactVersion: artifactVersion! };
      try {
        for (const path of COMPARED_REQUESTS) {
          const { status, body } = await get(path);
          answers[path] = { status, items: body.items.map((i) => [i.item_id, i.source]) };
        }
      } finally {
        ranker = HEURISTIC_RANKER;
      }
      answersByBackend.set(backend.name, answers);
    });
  });

test("a Redis Cluster answers the same items as a single Redis, for the same events and artifact", () => {
  const [single, cluster] = REDIS_BACKENDS.map((b) => answersByBackend.get(b.name));
  assert.ok(single && cluster, "both backends answered");
  assert.deepEqual(cluster, single);
  // And the answers are not trivially equal (empty): the artifact's list (m4) and b3's artifact neighbour (b6) lead for pc.
  assert.deepEqual((single["/v1/recommendations/pc?n=4"] as { items: string[][] }).items.slice(0, 2), [
    ["b6", "neighbours"],
    ["m4", "neighbours"],
  ]);
});
