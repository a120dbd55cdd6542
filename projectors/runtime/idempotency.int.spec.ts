import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { FeaturesReader } from "../features/read.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { RecommendationsReader } from "../recommendations/read.ts";
import { catalog, dumpVersion, interaction } from "./testing.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import type { RedisProjection } from "./redis-projection.ts";

const TOPIC = "t";
const base = Date.now() - 3_600_000;
const at = (minutes: number) => new Date(base + minutes * 60_000).toISOString();

/** 3 partitions; users hash to a fixed partition as Kafka's key partitioning would. */
function workload(): { catalogMessages: LogMessage[]; byPartition: LogMessage[][] } {
  const catalogMessages = [
    catalog("i1", ["books", "scifi"], 1),
    catalog("i2", ["books"], 1),
    catalog("i3", ["music"], 1),
    catalog("i4", ["music", "jazz"], 1),
    catalog("i4", ["music"], 2),
  ];
  const users = ["u0", "u1", "u2", "u3", "u4", "u5"];
  const byPartition: LogMessage[][] = [[], [], []];
  const items = ["i1", "i2", "i3", "i4", "i5"];
  const types = ["view", "click", "purchase", "view", "rating"];
  for (let n = 0; n < 120; n++) {
    const u = n % users.length;
    // Event times deliberately out of arrival order within a user (late events).
    const minute = (n * 7) % 50;
    byPartition[u % 3]!.push(
      interaction(users[u]!, items[(n * 3 + u) % items.length], types[n % types.length]!, at(minute)),
    );
  }
  byPartition[1]!.push(interaction("u1", undefined, "exposure", at(55)));
  return { catalogMessages, byPartition };
}

// The same properties on a single Redis, on a Redis Cluster (the per-slot batch path, cluster-batch.ts) and on
// the in-process store.
for (const backend of PROJECTION_STORES) {
  describe(backend.name, () => {
    const suite = storeForSuite(backend);
    after(() => suite.cleanUp());

    async function fresh(create: (store: ProjectionStore, prefix: string) => RedisProjection) {
      return create(await suite.store(), suite.prefix("rktest"));
    }

    const projections = {
      features: (s: ProjectionStore, prefix: string) => createFeaturesProjection(s, { prefix }),
      recommendations: (s: ProjectionStore, prefix: string) => createRecommendationsProjection(s, { prefix }),
    };

    async function applyAll(p: RedisProjection, batches: { partition: number; messages: LogMessage[] }[]) {
      for (const b of batches) {
        await p.apply({
          topic: TOPIC,
          partition: b.partition,
          messages: b.messages.map((message, i) => ({ offset: String(i), message })),
        });
      }
    }

    const chunk = <T>(xs: T[], size: number) =>
      Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

    for (const [name, create] of Object.entries(projections)) {
      describe(`${name}: idempotent projection`, () => {
        const { catalogMessages, byPartition } = workload();
        const catalogBatch = { partition: 3, messages: catalogMessages };

        test("projecting the same events twice gives the same state", async () => {
          const p = await fresh(create);
          const batches = [
            catalogBatch,
            ...byPartition.map((messages, partition) => ({ partition, messages })),
          ];
          await applyAll(p, batches);
          const once = await dumpVersion(p.store, p.prefix, p.ns, 1);
          assert.ok(Object.keys(once).length > 10, "the workload produced state");
          await applyAll(p, batches);
          // Redelivery in smaller batches, overlapping what was applied.
          await applyAll(
            p,
            byPartition.flatMap((messages, partition) =>
              chunk(messages, 7).map((m) => ({ partition, messages: m })),
            ),
          );
          assert.deepEqual(await dumpVersion(p.store, p.prefix, p.ns, 1), once);
        });

        test("a different interleaving across users (partitions) gives the same state", async () => {
          const a = await fresh(create);
          await applyAll(a, [
            catalogBatch,
            ...byPartition.map((messages, partition) => ({ partition, messages })),
          ]);
          const b = await fresh(create);
          // Round-robin small batches from the partitions, in reverse partition order.
          const chunks = byPartition.map((messages) => chunk(messages, 5));
          const interleaved: { partition: number; messages: LogMessage[] }[] = [];
          for (let i = 0; i < Math.max(...chunks.map((c) => c.length)); i++) {
            for (let partition = 2; partition >= 0; partition--) {
              const c = chunks[partition]![i];
              if (c) interleaved.push({ partition, messages: c });
            }
          }
          await applyAll(b, [catalogBatch, ...interleaved]);
          assert.deepEqual(
            await dumpVersion(b.store, b.prefix, b.ns, 1),
            await dumpVersion(a.store, a.prefix, a.ns, 1),
          );
        });
      });
    }

    describe("read API values", () => {
      test("features: recent items, counts, last activity, catalog (newer version wins), trending", async () => {
        const p = await fresh(projections.features);
        const reader = new FeaturesReader(p.store, p.prefix);
        await applyAll(p, [
          {
            partition: 0,
            messages: [catalog("a", ["x"], 2), catalog("a", ["y"], 1), catalog("b", ["x", "y"], 1)],
          },
          {
            partition: 1,
            messages: [
              interaction("u", "a", "view", at(10)),
              interaction("u", "b", "purchase", at(30)),
              interaction("u", "a", "click", at(20)),
              interaction("u", "b", "view", at(5)),
              interaction("v", "b", "view", at(1)),
            ],
          },
        ]);
        assert.deepEqual(await reader.getRecentItems("u", 10), ["b", "a"]);
        const f = await reader.getUserFeatures("u");
        assert.deepEqual(f.counts, { view: 2, purchase: 1, click: 1 });
        assert.equal(f.last_activity, at(30));
        assert.deepEqual(
          f.recent.map((r) => `${r.type}:${r.item_id}`),
          ["purchase:b", "click:a", "view:a", "view:b"],
        );
        assert.deepEqual(
          f.affinities.map((a) => a.category),
          ["x", "y"],
        );
        assert.deepEqual((await reader.getItem("a"))?.categories, ["x"]);
        assert.equal(await reader.getItem("zzz"), undefined);
        // The catalog index lists every known item once, whatever the number of versions.
        assert.deepEqual((await reader.getCatalogItems(10)).sort(), ["a", "b"]);
        const popularity = await reader.getItemPopularity("b");
        assert.deepEqual(popularity.counts, { purchase: 1, view: 2 });
        assert.deepEqual(
          (await reader.getTrending(undefined, 5)).map((t) => t.item_id),
          ["b", "a"],
        );
        assert.deepEqual(
          (await reader.getTrending("y", 5)).map((t) => t.item_id),
          ["b"],
        );
      });

      test("recommendations: neighbours by conditional co-occurrence P(j|i) = co(i,j) / cnt(i)", async () => {
        const p = await fresh(projections.recommendations);
        const reader = new RecommendationsReader(p.store, p.prefix);
        // u1: a,b  u2: a,b  u3: a,c  u4: c  → co(a,b)=2 co(a,c)=1, cnt a=3 b=2 c=2
        const m = [
          interaction("u1", "a", "view", at(1)),
          interaction("u1", "b", "view", at(2)),
          interaction("u2", "a", "view", at(3)),
          interaction("u2", "b", "view", at(4)),
          interaction("u2", "b", "click", at(5)),
          interaction("u3", "a", "view", at(6)),
          interaction("u3", "c", "view", at(7)),
          interaction("u4", "c", "view", at(8)),
        ];
        await applyAll(p, [{ partition: 0, messages: m }]);
        assert.deepEqual(await reader.getNeighbours("a", 5), [
          { item_id: "b", co_count: 2, score: 2 / 3 },
          { item_id: "c", co_count: 1, score: 1 / 3 },
        ]);
        assert.deepEqual(await reader.getNeighbours("c", 5), [{ item_id: "a", co_count: 1, score: 1 / 2 }]);
        assert.deepEqual(await reader.getUserHistory("u2"), ["b", "a"]);
      });
    });
  });
}
