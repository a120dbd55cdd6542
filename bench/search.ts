import path from "node:path";
import os from "node:os";
import { mkdtempSync, writeFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import MiniSearch from "minisearch";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import type { Database } from "../core/postgres/database.ts";
import { writeItems, type ItemWrite } from "../ingest/catalog-store.ts";
import { appendInteractionEvents } from "../core/event-store/event-store.ts";
import { readLogBatch, readLogHead, toLogPosition } from "../core/event-store/log-reader.ts";
import { storeCheckpoint } from "../core/postgres/checkpoints.ts";
import { LOG_START, type LogPosition } from "../core/contracts/position.ts";
import type { InteractionEvent } from "../core/contracts/event.ts";
import type { CatalogItem } from "../core/contracts/item.ts";
import { DEFAULT_FEATURES_CONFIG } from "../core/read-models/features-config.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { createRecommendationsProjection } from "../projectors/recommendations/projection.ts";
import { catalogReadModels, replaySqlReadModel } from "../projectors/search/index.ts";
import { applyGuarded } from "../projectors/search/sql-projection.ts";
import { searchReadModel } from "../projectors/search/search-model.ts";
import { SearchReader, type SearchQuery } from "../projectors/search/read.ts";
import { allowedEdits, documentText } from "../projectors/search/text.ts";
import { buildInteractionMatrix } from "../serving/recommender/interactions.ts";
import { trainModel } from "../serving/recommender/models/index.ts";
import { RECKON_MODEL, RECKON_TRAIN_OPTIONS } from "../serving/eval/run-eval.ts";
import { activateArtifact, publishArtifact } from "../serving/models/artifact-store.ts";
import { machine, percentile, printResultAndExit, runK6, startServer } from "./support.ts";

/**
 * `npm run bench -- search`: a 100k-item catalog in the search read model (Postgres full text + trigram
 * vocabulary), then
 * - HTTP at a fixed rate from k6 (another process): GET /v1/search without and with personalisation
 *   (neighbours from online co-occurrence, then from the activated batch artifact), against
 *   GET /v1/items/:id (one primary-key lookup through the same app and database) at the same rate;
 * - in process, sequential: the search query against the same word as a plain indexed lookup (the GIN index,
 *   exact word, no ranking, typos or facets), and against an in-process index (MiniSearch) over the same items;
 * - catalog change → searchable: PUT /v1/items/:id, then GET /v1/search for its new word until it is found,
 *   through the relay, Kafka and the search projection.
 * SEARCH_BENCH_ITEMS, SEARCH_BENCH_RATE, SEARCH_BENCH_DURATION, SEARCH_BENCH_CHANGES shrink or grow it.
 */
const ITEMS = Number(process.env.SEARCH_BENCH_ITEMS ?? 100_000);
const RATE = Number(process.env.SEARCH_BENCH_RATE ?? 20);
const DURATION = process.env.SEARCH_BENCH_DURATION ?? "10s";
const CHANGES = Number(process.env.SEARCH_BENCH_CHANGES ?? 30);
const USERS = 1000;
const QUERY_COUNT = 200;

const NOUNS = [
  "lamp",
  "chair",
  "table",
  "sofa",
  "shelf",
  "mirror",
  "carpet",
  "pillow",
  "blanket",
  "curtain",
  "jacket",
  "sweater",
  "trousers",
  "sneaker",
  "boot",
  "scarf",
  "glove",
  "backpack",
  "wallet",
  "watch",
  "kettle",
  "toaster",
  "blender",
  "skillet",
  "teapot",
  "knife",
  "grinder",
  "cooler",
  "thermos",
  "bottle",
  "speaker",
  "headphones",
  "keyboard",
  "monitor",
  "charger",
  "camera",
  "printer",
  "router",
  "tablet",
  "drone",
];
const ADJECTIVES = [
  "vintage",
  "modern",
  "rustic",
  "compact",
  "foldable",
  "wireless",
  "portable",
  "classic",
  "premium",
  "organic",
  "waterproof",
  "ergonomic",
  "minimal",
  "deluxe",
  "handmade",
  "sturdy",
  "lightweight",
  "cozy",
  "sleek",
  "bold",
];
const MATERIALS = [
  "oak",
  "walnut",
  "leather",
  "linen",
  "cotton",
  "wool",
  "steel",
  "brass",
  "bamboo",
  "ceramic",
];
const COLOURS = [
  "black",
  "white",
  "red",
  "blue",
  "green",
  "grey",
  "brown",
  "yellow",
  "navy",
  "beige",
  "pink",
  "olive",
];
const CATEGORY_OF = (noun: number) => ["home", "fashion", "kitchen", "electronics"][Math.floor(noun / 10)]!;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

export function catalog(): ItemWrite[] {
  const rand = lcg(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  return Array.from({ length: ITEMS }, (_, i) => {
    const noun = Math.floor(rand() * NOUNS.length);
    const brand = `brand${Math.floor(rand() * 300)}`;
    return {
      item_id: `it${i}`,
      title: `${pick(ADJECTIVES)} ${pick(MATERIALS)} ${NOUNS[noun]} ${brand} ${i}`,
      categories: [CATEGORY_OF(noun), `${CATEGORY_OF(noun)}-${noun % 10}`],
      attributes: {
        brand,
        colour: pick(COLOURS),
        material: pick(MATERIALS),
        price: Math.round(rand() * 500),
      },
      available: rand() > 0.1,
    };
  });
}

/** Single words, two words, prefixes and one-typo words (a swapped pair inside a word of 5+ letters). */
function queries(): string[] {
  const rand = lcg(11);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  return Array.from({ length: QUERY_COUNT }, (_, i) => {
    const noun = pick(NOUNS);
    switch (i % 5) {
      case 0:
      case 1:
        return noun;
      case 2:
        return `${pick(ADJECTIVES)} ${noun}`;
      case 3:
        return noun.slice(0, 3);
      default: {
        const word = allowedEdits(noun) > 0 ? noun : pick(NOUNS.filter((n) => allowedEdits(n) > 0));
        const at = 1 + Math.floor(rand() * (word.length - 3));
        return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
      }
    }
  });
}

const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50_ms: percentile(sorted, 50),
    p99_ms: percentile(sorted, 99),
    max_ms: sorted.at(-1),
  };
};

async function timed<T>(samples: number[], work: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await work();
  samples.push(performance.now() - started);
  return result;
}

/** Users with a clear category taste (u<k> clicks items of category k % 4), so personalisation has signals. */
export function interactions(items: readonly ItemWrite[]): InteractionEvent[] {
  const rand = lcg(3);
  const byCategory = new Map<string, string[]>();
  for (const item of items)
    byCategory.set(item.categories[0]!, [...(byCategory.get(item.categories[0]!) ?? []), item.item_id]);
  const categories = [...byCategory.keys()];
  const events: InteractionEvent[] = [];
  const now = Date.now();
  for (let u = 0; u < USERS; u++) {
    const own = byCategory.get(categories[u % categories.length]!)!;
    for (let k = 0; k < 20; k++)
      events.push({
        event_id: randomUUID(),
        type: k % 5 === 0 ? "purchase" : "click",
        user_id: `u${u}`,
        item_id: own[Math.floor(rand() * Math.min(own.length, 500))]!,
        timestamp: new Date(now - Math.floor(rand() * 86_400_000)).toISOString(),
      });
  }
  return events;
}

/** The in-process alternative: MiniSearch over the same text, prefix and the same typo allowance. */
function miniSearchIndex() {
  return new MiniSearch<{ id: string; title: string; body: string }>({
    fields: ["title", "body"],
    storeFields: [],
    searchOptions: {
      prefix: true,
      fuzzy: (term) => allowedEdits(term),
      boost: { title: 2 },
      combineWith: "AND",
    },
  });
}

export async function runSearchBench() {
  const env = stackEnv();
  const t = await createTestDatabase();
  const redis = new Redis(env.REDIS_URL);
  const prefix = uniqueName("rksearchbench");
  const topic = uniqueName("bench.events");
  const readKey = `bench-read-${randomUUID()}`;
  const writeKey = `bench-write-${randomUUID()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-search-bench-"));
  try {
    const items = catalog();
    const seedStarted = performance.now();
    for (let i = 0; i < items.length; i += 1000) await writeItems(t.db, items.slice(i, i + 1000), new Date());
    const events = interactions(items);
    for (let i = 0; i < events.length; i += 1000)
      await appendInteractionEvents(t.db, events.slice(i, i + 1000));
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // The catalog read models from the log (the rebuild path), then serving's Redis signals from the same log.
    const rebuild: Record<string, { events: number; seconds: number; events_per_second: number }> = {};
    for (const model of Object.values(catalogReadModels(DEFAULT_FEATURES_CONFIG))) {
      const r = await replaySqlReadModel({ db: t.db, model, topic, partitions: 3 });
      rebuild[model.name] = { events: r.events, seconds: r.seconds, events_per_second: r.eventsPerSecond };
    }
    await projectRedis(t.db, redis, prefix);
    // The production batch model (EASE with per-user lists), as `reckon train` publishes it; activated after the
    // personalised run on online co-occurrence (before any training), so both neighbour sources are measured.
    const matrix = buildInteractionMatrix(
      events.map((e) => ({ userId: e.user_id, itemId: e.item_id!, timestamp: Date.parse(e.timestamp) })),
    );
    const artifact = await publishArtifact(
      redis,
      prefix,
      trainModel(RECKON_MODEL, matrix, RECKON_TRAIN_OPTIONS),
      { trainedThrough: Date.now() },
    );
    // The relay starts at the head: history is already in every read model, Kafka carries only what follows.
    const head = await readLogHead(t.db);
    await storeCheckpoint(t.db, `relay:${topic}`, LOG_START, head);
    const sizes = await storeSizes(t.db);

    const qs = queries();
    const inProcess = await inProcessComparison(t.db, items, qs);

    const queriesFile = path.join(dir, "queries.json");
    writeFileSync(
      queriesFile,
      JSON.stringify({ queries: qs, items: items.slice(0, QUERY_COUNT).map((i) => i.item_id) }),
    );
    const server = await startServer("ingest,relay,projectors,serving", {
      DATABASE_URL: t.url,
      REDIS_URL: env.REDIS_URL,
      KAFKA_BROKERS: env.KAFKA_BROKERS.join(","),
      KAFKA_EVENTS_TOPIC: topic,
      KAFKA_DLQ_TOPIC: `${topic}.dlq`,
      RECKON_PROJECTIONS: "search,item-detail",
      RECKON_PROJECTOR_GROUP_PREFIX: `${prefix}.`,
      RECKON_REDIS_PREFIX: prefix,
      RECKON_READ_KEYS: readKey,
      RECKON_WRITE_KEYS: writeKey,
      RECKON_SEARCH_FACETS: "brand,colour,material",
      RECKON_TRAIN_INTERVAL_MINUTES: "0",
    });
    try {
      const script = path.join(REPO_ROOT, "loadtests/search.js");
      const k6 = (target: string, duration = DURATION) => {
        const m = runK6(script, {
          BASE_URL: server.url,
          READ_KEY: readKey,
          TARGET: target,
          RATE: String(RATE),
          DURATION: duration,
          USERS: String(USERS),
          QUERIES_FILE: queriesFile,
        }).metrics;
        const d = m.http_req_duration!.values;
        return {
          rate: RATE,
          requests: m.http_reqs?.values.count ?? 0,
          dropped: m.dropped_iterations?.values.count ?? 0,
          failed_share: m.http_req_failed?.values.rate ?? m.http_req_failed?.values.value ?? 0,
          p50_ms: d.med,
          p99_ms: d["p(99)"],
          max_ms: d.max,
        };
      };
      // Warm-up: JIT, the pool's connections, Postgres' caches, and serving's in-process catalog facts (read once
      // in full on the first personalised request, then followed by polling).
      k6("search", "3s");
      k6("personal", "5s");
      const search = k6("search");
      const personalisedOnline = k6("personal");
      await activateArtifact(redis, prefix, artifact);
      k6("personal", "5s"); // the artifact's lists into serving's cache
      const http = {
        search,
        personalised: k6("personal"),
        personalised_online_neighbours: personalisedOnline,
        baseline_item_lookup: k6("lookup"),
      };
      const freshness = await changeToSearchable(server.url, readKey, writeKey);
      return {
        bench: "search",
        machine: machine(),
        date: new Date().toISOString(),
        data: {
          items: ITEMS,
          interactions: events.length,
          users: USERS,
          queries: QUERY_COUNT,
          seed_seconds: seedSeconds,
        },
        store: sizes,
        rebuild,
        http: {
          ...http,
          ratio_p50_search_to_lookup: http.search.p50_ms! / http.baseline_item_lookup.p50_ms!,
          ratio_p50_personalised_to_lookup: http.personalised.p50_ms! / http.baseline_item_lookup.p50_ms!,
          ratio_p99_personalised_to_search: http.personalised.p99_ms! / http.search.p99_ms!,
          ratio_p99_personalised_online_to_search:
            http.personalised_online_neighbours.p99_ms! / http.search.p99_ms!,
        },
        change_to_searchable: freshness,
        in_process: inProcess,
      };
    } finally {
      await server.stop();
    }
  } finally {
    const keys = await redis.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
    redis.disconnect();
    await t.drop();
  }
}

export async function projectRedis(db: Database, redis: Redis, prefix: string): Promise<void> {
  const projections = [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ];
  let position: LogPosition = LOG_START;
  for (;;) {
    const batch = await readLogBatch(db, position, 5000);
    if (batch.length === 0) return;
    position = toLogPosition(batch.at(-1)!);
    for (const p of projections) await p.applyMessages(batch, "bench");
  }
}

async function storeSizes(db: Database) {
  const { rows } = await db.query<{ relation: string; bytes: number }>(
    `SELECT relname AS relation, pg_total_relation_size(oid)::bigint AS bytes FROM pg_class
      WHERE relname IN ('search_documents', 'search_terms', 'item_details', 'item_detail_counts', 'item_detail_popularity')`,
  );
  return Object.fromEntries(
    rows.map((r) => [`${r.relation}_mib`, Math.round((Number(r.bytes) / 2 ** 20) * 10) / 10]),
  );
}

/**
 * Sequential, in this process, the same queries: the search read model's query (hits + facets), the same word
 * as a plain indexed lookup (GIN, exact word, no ranking), and MiniSearch over the same items. Index freshness:
 * one changed item written and searchable (a Postgres transaction through the projection's guard; MiniSearch's
 * replace).
 */
async function inProcessComparison(db: Database, items: readonly ItemWrite[], qs: readonly string[]) {
  const reader = new SearchReader(db);
  const version = await reader.version();
  const query = (q: string): SearchQuery => ({ q, categories: [], attributes: [], available: true });
  const facets = ["brand", "colour", "material"];
  const postgres: number[] = [];
  const postgresHitsOnly: number[] = [];
  const lookup: number[] = [];
  for (const q of qs) await reader.search(query(q), 10, undefined, version); // warm
  for (const q of qs) {
    await timed(postgres, () =>
      Promise.all([
        reader.search(query(q), 10, undefined, version),
        reader.facets(query(q), facets, version),
      ]),
    );
    await timed(postgresHitsOnly, () => reader.search(query(q), 10, undefined, version));
    const word = q.split(" ").at(-1)!;
    await timed(lookup, () =>
      db.query(
        `SELECT item_id FROM search_documents WHERE version = $1 AND document @@ to_tsquery('simple', $2) LIMIT 10`,
        [version, `'${word}'`],
      ),
    );
  }
  const buildStarted = performance.now();
  const mini = miniSearchIndex();
  mini.addAll(items.map((item) => ({ id: item.item_id, ...documentText(item as CatalogItem) })));
  const buildSeconds = (performance.now() - buildStarted) / 1000;
  // The index's own serialised size (heap deltas are noise next to the garbage collector at this size).
  const serialisedMib = Math.round((JSON.stringify(mini).length / 2 ** 20) * 10) / 10;
  const miniTimes: number[] = [];
  for (const q of qs) mini.search(q); // warm
  for (const q of qs) await timed(miniTimes, () => mini.search(q).slice(0, 10));

  // Freshness of the index itself: one item changed, then searchable.
  const pgWrite: number[] = [];
  const miniWrite: number[] = [];
  for (let i = 0; i < 50; i++) {
    const word = `fresh${i}x${Date.now().toString(36)}`;
    const item: CatalogItem = {
      item_id: `fresh-${i}`,
      version: 1,
      title: `${word} lamp`,
      categories: ["home"],
      attributes: {},
      available: true,
      updated_at: new Date().toISOString(),
    };
    const position = 10_000_000 + i;
    await timed(pgWrite, async () => {
      await applyGuarded(db, searchReadModel, "bench-freshness", [
        {
          kind: "catalog",
          position,
          transaction_id: String(position),
          received_at: item.updated_at,
          event: {
            event_id: randomUUID(),
            type: "item_changed",
            item_id: item.item_id,
            timestamp: item.updated_at,
            item,
          },
        },
      ]);
      const hits = await reader.search(query(word), 10, undefined, version);
      if (!hits.some((h) => h.item_id === item.item_id))
        throw new Error(`${item.item_id} not searchable (postgres)`);
    });
    await timed(miniWrite, () => {
      if (mini.has(item.item_id)) mini.discard(item.item_id);
      mini.add({ id: item.item_id, ...documentText(item) });
      if (!mini.search(word).some((h) => h.id === item.item_id))
        throw new Error(`${item.item_id} not searchable (minisearch)`);
    });
  }
  return {
    queries: qs.length,
    postgres_search_with_facets: summary(postgres),
    postgres_search_hits_only: summary(postgresHitsOnly),
    baseline_plain_indexed_lookup: summary(lookup),
    ratio_p50_search_to_lookup:
      percentile(
        [...postgresHitsOnly].sort((a, b) => a - b),
        50,
      ) /
      percentile(
        [...lookup].sort((a, b) => a - b),
        50,
      ),
    minisearch: {
      build_seconds: buildSeconds,
      serialised_mib: serialisedMib,
      query: summary(miniTimes),
      note: "hits only: no facets, filters or availability",
    },
    index_write_to_searchable: { postgres: summary(pgWrite), minisearch: summary(miniWrite) },
  };
}

/** PUT /v1/items/:id with a new word, then GET /v1/search?q=word until it is there: ack → searchable. */
async function changeToSearchable(base: string, readKey: string, writeKey: string) {
  const samples: number[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const word = `zq${i}${Date.now().toString(36)}`;
    const res = await fetch(`${base}/v1/items/it${i}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${writeKey}`, "content-type": "application/json" },
      body: JSON.stringify({ title: `${word} lamp`, categories: ["home"], attributes: {}, available: true }),
    });
    if (!res.ok) throw new Error(`PUT /v1/items/it${i}: ${res.status} ${await res.text()}`);
    const acked = performance.now();
    const deadline = acked + 30_000;
    for (;;) {
      const found = (await (
        await fetch(`${base}/v1/search?q=${word}`, { headers: { authorization: `Bearer ${readKey}` } })
      ).json()) as { items: { item_id: string }[] };
      if (found.items.some((hit) => hit.item_id === `it${i}`)) break;
      if (performance.now() > deadline) throw new Error(`item it${i} not searchable after 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    samples.push(performance.now() - acked);
  }
  return {
    changes: CHANGES,
    ...summary(samples),
    note: "sequential PUT → found by GET /v1/search, polled every 5 ms",
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printResultAndExit(runSearchBench());
}
