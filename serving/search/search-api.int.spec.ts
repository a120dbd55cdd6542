import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { createKafka, ensureTopics } from "../../core/kafka/kafka.ts";
import { writeItems, type ItemWrite } from "../../ingest/catalog-store.ts";
import { Relay } from "../../ingest/relay/relay.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { readLogBatch } from "../../core/event-store/log-reader.ts";
import { formatPositionToken, LOG_START } from "../../core/contracts/position.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { ProjectorRuntime } from "../../projectors/runtime/consumer.ts";
import { KafkaLogTransport } from "../../core/log-transport/kafka-transport.ts";
import { catalogReadModels, createSqlProjection } from "../../projectors/search/index.ts";
import { catalogReadModelPositions, ItemDetailReader, SearchReader } from "../../projectors/search/read.ts";
import { HEURISTIC_RANKER } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { deleteMatching, uncachedReadSide } from "../ranking/testing.ts";
import { searchRouter } from "./router.ts";

/**
 * GET /v1/search and GET /v1/items/:id/detail end to end: writes go to the Postgres log, the relay publishes
 * them to Kafka, the search and item-detail projections consume them (real consumer groups), and serving's
 * Redis read models (features, neighbours) give personalisation its signals.
 */
describe("search API", () => {
  const env = stackEnv();
  const kafka = createKafka(env.KAFKA_BROKERS, "search-api-test");
  const topic = uniqueName("test.events");
  const dlqTopic = uniqueName("test.dlq");
  const groupPrefix = `${uniqueName("test.projector")}.`;
  const prefix = uniqueName("rksearch");
  const redis = new Redis(env.REDIS_URL);
  let t: TestDatabase;
  let relay: Relay;
  let runtime: ProjectorRuntime;
  let positions: ReturnType<typeof catalogReadModelPositions>;
  let statusTransport: KafkaLogTransport;
  let server: Awaited<ReturnType<typeof serveForTest>>;

  // Two shoes the text ranks alike (the fashion one first by id); the sporty user has a clear sports affinity.
  const CATALOG: ItemWrite[] = [
    {
      item_id: "a-dress",
      title: "Leather dress shoe",
      categories: ["fashion"],
      attributes: { colour: "brown" },
      available: true,
    },
    {
      item_id: "b-run",
      title: "Trail running shoe",
      categories: ["sports"],
      attributes: { colour: "blue" },
      available: true,
    },
    {
      item_id: "c-boot",
      title: "Hiking boot",
      categories: ["sports"],
      attributes: { colour: "brown" },
      available: true,
    },
    { item_id: "d-ball", title: "Football", categories: ["sports"], attributes: {}, available: true },
    { item_id: "e-gone", title: "Old shoe", categories: ["fashion"], attributes: {}, available: false },
  ];

  type Body = {
    items: { item_id: string; score: number; source: string }[];
    total: number;
    facets: {
      categories: { value: string; count: number }[];
      attributes: Record<string, { value: string; count: number }[]>;
    };
    next_cursor: string | null;
    errors?: { field: string; rule: string; received: unknown }[];
  };
  const get = async (path: string) =>
    (await server.call("GET", path, { scope: "read" })) as { status: number; body: Body; headers: Headers };
  const ids = (b: Body) => b.items.map((i) => i.item_id);

  before(async () => {
    t = await createTestDatabase();
    await ensureTopics(kafka, [
      { topic, partitions: 2 },
      { topic: dlqTopic, partitions: 2 },
    ]);
    relay = new Relay({ db: t.db, kafka, topic, partitions: 2, name: `relay:${topic}` });
    await relay.start();
    const projections = Object.values(catalogReadModels(DEFAULT_FEATURES_CONFIG)).map((m) =>
      createSqlProjection(t.db, m),
    );
    runtime = new ProjectorRuntime({ kafka, topic, dlqTopic, partitions: 2, projections, groupPrefix });
    await runtime.start();
    positions = catalogReadModelPositions({
      db: t.db,
      transport: (statusTransport = new KafkaLogTransport({
        kafka,
        topic,
        dlqTopic,
        partitions: 2,
        db: t.db,
      })),
      groupPrefix,
      features: DEFAULT_FEATURES_CONFIG,
    });

    await writeItems(t.db, CATALOG, new Date(Date.now() - 3_600_000));
    const at = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    const { head } = await appendInteractionEvents(t.db, [
      ...["c-boot", "d-ball", "c-boot", "d-ball"].map((item, i) => ({
        event_id: randomUUID(),
        type: "click",
        user_id: "sporty",
        item_id: item,
        timestamp: at(30 - i),
      })),
    ]);
    // Serving's own read models (Redis), written by their projections from the same log.
    const log = await readLogBatch(t.db, LOG_START, 1000);
    for (const p of [
      createFeaturesProjection(redis, { prefix }),
      createRecommendationsProjection(redis, { prefix }),
    ])
      await p.applyMessages(log, "test");
    const { features, readModel } = uncachedReadSide(redis, prefix);
    server = await serveForTest([
      searchRouter({
        readModel,
        features,
        ranker: () => HEURISTIC_RANKER,
        config: { ...servingConfigFromEnv({}), cacheMs: 0 },
        keys: new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] }),
        search: new SearchReader(t.db),
        details: new ItemDetailReader(t.db, DEFAULT_FEATURES_CONFIG),
        facetable: ["colour"],
        waitForPosition: (token, timeoutMs) => positions.waitForPosition(token, timeoutMs),
      }),
    ]);
    const token = formatPositionToken(head!);
    while (!(await positions.waitForPosition(token, 5000)).reached);
  });

  after(async () => {
    await server?.close();
    await positions?.close();
    await statusTransport?.close();
    await runtime?.stop();
    await relay?.stop();
    await deleteMatching(redis, `${prefix}:*`);
    redis.disconnect();
    await t?.drop();
  });

  test("text order without a user; a clear affinity moves its category up, with its source", async () => {
    const plain = await get("/v1/search?q=shoe");
    assert.equal(plain.status, 200);
    assert.deepEqual(ids(plain.body), ["a-dress", "b-run"]);
    assert.deepEqual(
      plain.body.items.map((i) => i.source),
      ["search", "search"],
    );
    assert.equal(plain.body.total, 2);
    assert.deepEqual(plain.body.facets, {
      categories: [
        { value: "fashion", count: 1 },
        { value: "sports", count: 1 },
      ],
      attributes: {
        colour: [
          { value: "blue", count: 1 },
          { value: "brown", count: 1 },
        ],
      },
    });
    const sporty = await get("/v1/search?q=shoe&user_id=sporty");
    assert.deepEqual(ids(sporty.body), ["b-run", "a-dress"]);
    assert.equal(sporty.body.items[0]!.source, "affinity");
    assert.ok(sporty.body.items[0]!.score > sporty.body.items[1]!.score);
    // A user with no history keeps the text order.
    assert.deepEqual(ids((await get("/v1/search?q=shoe&user_id=stranger")).body), ["a-dress", "b-run"]);
  });

  test("cursor pages cover the results once, with and without a user", async () => {
    for (const user of ["", "&user_id=sporty"]) {
      const all = ids((await get(`/v1/search?available=any&n=100${user}`)).body);
      assert.equal(all.length, 5);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: Body } = await get(
          `/v1/search?available=any&n=2${user}${cursor ? `&cursor=${cursor}` : ""}`,
        );
        seen.push(...ids(page.body));
        cursor = page.body.next_cursor;
      } while (cursor);
      assert.deepEqual(seen, all);
    }
  });

  test("a catalog change is searchable once its position is passed (min_position)", async () => {
    const { head } = await writeItems(
      t.db,
      [
        {
          item_id: "f-zebra",
          title: "Zebra print shoe",
          categories: ["fashion"],
          attributes: {},
          available: true,
        },
      ],
      new Date(),
    );
    const res = await get(`/v1/search?q=zebra&min_position=${formatPositionToken(head!)}`);
    assert.equal(res.headers.get("x-reckon-position-reached"), "true");
    assert.deepEqual(ids(res.body), ["f-zebra"]);
    // Made unavailable: gone from the default search, there with available=false.
    const gone = await writeItems(t.db, [{ ...CATALOG[0]!, available: false }], new Date());
    const token = formatPositionToken(gone.head!);
    assert.deepEqual(ids((await get(`/v1/search?q=leather&min_position=${token}`)).body), []);
    assert.deepEqual(ids((await get(`/v1/search?q=leather&available=false`)).body), ["a-dress"]);
  });

  test("item detail: stats, categories and similar items", async () => {
    const res = await get("/v1/items/c-boot/detail");
    assert.equal(res.status, 200);
    const body = res.body as unknown as {
      item: { title: string };
      categories: string[];
      stats: { counts: Record<string, number>; popularity: { short: number; long: number } };
      similar: { item_id: string; source: string }[];
    };
    assert.equal(body.item.title, "Hiking boot");
    assert.deepEqual(body.categories, ["sports"]);
    assert.deepEqual(body.stats.counts, { click: 2 });
    assert.ok(body.stats.popularity.short > 0 && body.stats.popularity.long >= body.stats.popularity.short);
    assert.equal(body.similar[0]!.item_id, "d-ball");
    assert.equal(body.similar[0]!.source, "neighbours");
    const onlyStats = await get("/v1/items/c-boot/detail?include=stats");
    assert.equal((onlyStats.body as unknown as { similar?: unknown }).similar, undefined);
    assert.equal((await get("/v1/items/nope/detail")).status, 404);
  });

  test("malformed parameters are 400s naming field, rule and what was received", async () => {
    const cases: [string, string, unknown][] = [
      ["/v1/search?n=0", "n", "0"],
      ["/v1/search?n=101", "n", "101"],
      ["/v1/search?available=maybe", "available", "maybe"],
      ["/v1/search?cursor=%21%21", "cursor", "!!"],
      ["/v1/search?cursor=1e999_x", "cursor", "1e999_x"],
      ["/v1/search?category=%20", "category", " "],
      ["/v1/search?attr.=x", "attr.", "attr."],
      ["/v1/search?colour=red", "colour", "red"],
      ["/v1/search?q=a&q=b", "q", ["a", "b"]],
      ["/v1/search?min_position=yesterday", "min_position", "yesterday"],
      ["/v1/items/c-boot/detail?include=reviews", "include", "reviews"],
      ["/v1/items/c-boot/detail?similar_n=0", "similar_n", "0"],
    ];
    for (const [path, field, received] of cases) {
      const res = await get(path);
      assert.equal(res.status, 400, path);
      const error = res.body.errors!.find((e) => e.field === field);
      assert.ok(error, `${path}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(error.received, received, path);
      assert.ok(error.rule.length > 0);
    }
    assert.equal((await server.call("GET", "/v1/search?q=shoe", { scope: "none" })).status, 401);
  });
});
