import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { Cluster } from "ioredis";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { compareLogPositions, LOG_START, type LogPosition } from "../../core/contracts/position.ts";
import type { RedisClient } from "../../core/redis/redis.ts";
import { createTestDatabase, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { writeItems } from "../../ingest/catalog-store.ts";
import { readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { featureOps } from "../features/ops.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { FeaturesReader } from "../features/read.ts";
import { DEFAULT_RECOMMENDATIONS_CONFIG, recommendationOps } from "../recommendations/ops.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { RecommendationsReader } from "../recommendations/read.ts";
import { applyOpsBatchClusterKilled } from "./cluster-batch.ts";
import { clusterControlKeys } from "../../core/read-models/keys.ts";
import type { OpsDecision, RedisProjection } from "./redis-projection.ts";
import { deleteKeys, replayProjection } from "./replay.ts";
import {
  catalog,
  closeRedis,
  dumpVersion,
  interaction,
  readAppliedPosition,
  REDIS_BACKENDS,
} from "./testing.ts";

/**
 * A Redis Cluster against a single Redis: the same events give the same stored state and the same reads, a
 * projector killed mid-batch on the cluster ends where an uninterrupted one does, and a rebuild with a version
 * switch while the live projection keeps applying equals the live state on both.
 */
const [single, clustered] = REDIS_BACKENDS.map((b) => ({ name: b.name, redis: b.open() }));
const prefixes: string[] = [];
after(async () => {
  for (const { redis } of [single!, clustered!]) {
    for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
    await closeRedis(redis);
  }
});

const makers = {
  features: (redis: RedisClient, prefix: string) => createFeaturesProjection(redis, { prefix }),
  recommendations: (redis: RedisClient, prefix: string) => createRecommendationsProjection(redis, { prefix }),
};
const decide: Record<keyof typeof makers, (m: LogMessage) => OpsDecision> = {
  features: (m) => featureOps(m, DEFAULT_FEATURES_CONFIG, Date.now()),
  recommendations: (m) => recommendationOps(m, DEFAULT_RECOMMENDATIONS_CONFIG),
};

function fresh(name: keyof typeof makers, redis: RedisClient): RedisProjection {
  const prefix = uniqueName("rkcluster");
  prefixes.push(prefix);
  return makers[name](redis, prefix);
}

const START = Date.UTC(2026, 0, 1);
const AT_MS = START + 600 * 60_000;

/** Users and items spread over many slots, catalog changes in the middle, late events, repeated items. */
function workload(n = 500): LogMessage[] {
  const out: LogMessage[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 35 === 0) out.push(catalog(`i${i % 17}`, [`c${i % 3}`, `c${(i + 1) % 5}`], i));
    else
      out.push(
        interaction(
          `u${i % 23}`,
          `i${(i * 7) % 17}`,
          ["view", "click", "purchase", "add_to_cart"][i % 4]!,
          new Date(START + ((i * 7919) % 600) * 60_000).toISOString(),
        ),
      );
  }
  return out;
}

const chunks = <T>(xs: readonly T[], size: number) =>
  Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, i * size + size));

describe("Redis Cluster against single Redis", () => {
  for (const name of ["features", "recommendations"] as const) {
    test(`${name}: the same events in the same batches store the same state`, async () => {
      const messages = workload();
      const a = fresh(name, single!.redis);
      const b = fresh(name, clustered!.redis);
      for (const batch of chunks(messages, 60)) {
        await a.applyMessages(batch, "src");
        await b.applyMessages(batch, "src");
      }
      const dump = await dumpVersion(b.store, b.prefix, b.ns, 1);
      assert.ok(Object.keys(dump).length > 40, "the workload produced state");
      assert.deepEqual(dump, await dumpVersion(a.store, a.prefix, a.ns, 1));
    });
  }

  test("the readers answer the same from both", async () => {
    const messages = workload();
    const readers: { features: FeaturesReader; recs: RecommendationsReader }[] = [];
    for (const { redis } of [single!, clustered!]) {
      const f = fresh("features", redis);
      const r = fresh("recommendations", redis);
      for (const batch of chunks(messages, 45)) {
        await f.applyMessages(batch, "src");
        await r.applyMessages(batch, "src");
      }
      readers.push({
        features: new FeaturesReader(redis, f.prefix),
        recs: new RecommendationsReader(redis, r.prefix),
      });
    }
    const read = async ({ features, recs }: (typeof readers)[number]) => {
      const users = Array.from({ length: 23 }, (_, i) => `u${i}`);
      const items = Array.from({ length: 18 }, (_, i) => `i${i}`); // i17 is unknown
      return {
        users: await Promise.all(users.map((u) => features.getUserFeatures(u, AT_MS))),
        recentItems: await Promise.all(users.map((u) => features.getRecentItems(u, 10))),
        popularity: await Promise.all(items.map((i) => features.getItemPopularity(i, AT_MS))),
        trending: await Promise.all(
          [undefined, "c0", "c1", "c2"].flatMap((c) =>
            (["short", "long"] as const).map((h) => features.getTrending(c, 10, h, AT_MS)),
          ),
        ),
        catalog: await features.getCatalogItems(50),
        facts: [...(await features.getItemFacts(items))],
        docs: [...(await features.getItems(items))].map(([id, doc]) => [id, doc.version, doc.categories]),
        neighbours: [...(await recs.getNeighboursMany(items, 10))],
        histories: await Promise.all(users.map((u) => recs.getUserHistory(u, 20))),
      };
    };
    const fromSingle = await read(readers[0]!);
    assert.ok(fromSingle.users.some((u) => u.affinities.length > 0));
    assert.ok(fromSingle.neighbours.length > 5);
    assert.ok(fromSingle.trending.every((t) => t.length > 0));
    assert.deepEqual(await read(readers[1]!), fromSingle);
  });
});

describe("Redis Cluster: killed mid-batch", () => {
  for (const name of ["features", "recommendations"] as const) {
    test(`${name}: a kill after any number of slots, then the redelivery, equals an uninterrupted run`, async () => {
      const redis = clustered!.redis as Cluster;
      const messages = workload(300);
      const [first, second, third] = [messages.slice(0, 100), messages.slice(100, 200), messages.slice(200)];
      const reference = fresh(name, redis);
      for (const batch of [first, second, third]) await reference.applyMessages(batch!, "src");
      const expected = await dumpVersion(redis, reference.prefix, reference.ns, 1);

      const ops = (batch: LogMessage[]) =>
        batch.map((m) => {
          const d = decide[name](m);
          return { position: toLogPosition(m), ops: "ops" in d ? d.ops : [] };
        });
      const probe = fresh(name, redis);
      await probe.applyMessages(first!, "src");
      const parts = await applyOpsBatchClusterKilled(redis, probe.target(), "src", ops(second!), 0);
      assert.ok(parts > 10, `the batch spans many slots (${parts})`);
      for (const slots of [0, 1, Math.floor(parts / 2), parts - 1, parts]) {
        const killed = fresh(name, redis);
        await killed.applyMessages(first!, "src");
        await applyOpsBatchClusterKilled(redis, killed.target(), "src", ops(second!), slots);
        // Kafka redelivers from the last committed offset, possibly in other batch boundaries.
        await killed.applyMessages([...second!, ...third!.slice(0, 50)], "src");
        await killed.applyMessages(third!, "src");
        assert.deepEqual(
          await dumpVersion(redis, killed.prefix, killed.ns, 1),
          expected,
          `killed after ${slots}`,
        );
      }
    });
  }

  test("features: the redelivery uses the categories the killed batch resolved, not a later catalog change", async () => {
    const redis = clustered!.redis as Cluster;
    const setup = [catalog("k1", ["old"], 1), catalog("k2", ["old", "other"], 1)];
    const batch = Array.from({ length: 40 }, (_, i) =>
      interaction(`ku${i}`, `k${(i % 2) + 1}`, "view", new Date(START + i * 60_000).toISOString()),
    );
    const change = catalog("k1", ["new"], 2);
    const reference = fresh("features", redis);
    await reference.applyMessages(setup, "src");
    await reference.applyMessages(batch, "src");
    await reference.applyMessages([change], "catalog");

    const killed = fresh("features", redis);
    await killed.applyMessages(setup, "src");
    const ops = batch.map((m) => ({
      position: toLogPosition(m),
      ops: (decide.features(m) as { ops: [] }).ops,
    }));
    const parts = await applyOpsBatchClusterKilled(redis, killed.target(), "src", ops, 3);
    assert.ok(parts > 3);
    // Another partition applies a catalog change before the killed projector comes back.
    await killed.applyMessages([change], "catalog");
    await killed.applyMessages(batch, "src");
    assert.deepEqual(
      await dumpVersion(redis, killed.prefix, killed.ns, 1),
      await dumpVersion(redis, reference.prefix, reference.ns, 1),
    );
    assert.equal(
      (await new FeaturesReader(redis, killed.prefix).getTrending("new", 5, "short", AT_MS)).length,
      0,
      "no category effect under the later category",
    );
  });
});

describe("Redis Cluster: a message Redis refuses", () => {
  test("fails alone when the runtime bisects; the messages around it apply once; no journal stays behind", async () => {
    const redis = clustered!.redis as Cluster;
    const p = fresh("features", redis);
    const at = (m: number) => new Date(START + m * 60_000).toISOString();
    const [good1, bad, good2] = [
      interaction("g1", "x1", "view", at(1)),
      interaction("bad", "x1", "view", at(2)),
      interaction("g2", "x1", "click", at(3)),
    ];
    // A key of another type makes Redis refuse the profile write (WRONGTYPE), for that user only.
    await redis.set(`${p.prefix}:f:v1:{u:bad}:p`, "not a hash");
    await assert.rejects(p.applyMessages([good1!, bad!, good2!], "src"), /WRONGTYPE/);
    // What apply-guard.ts does: halves in order, down to single messages; the refused one is dead-lettered.
    await p.applyMessages([good1!], "src");
    await assert.rejects(p.applyMessages([bad!], "src"), /WRONGTYPE/);
    await p.applyMessages([good2!], "src");
    const reader = new FeaturesReader(redis, p.prefix);
    // g1's slot had applied the whole first attempt; its guard skips the part sent again.
    assert.deepEqual((await reader.getUserFeatures("g1", AT_MS)).counts, { view: 1 });
    assert.deepEqual((await reader.getUserFeatures("g2", AT_MS)).counts, { click: 1 });
    assert.deepEqual(
      await redis.hgetall(clusterControlKeys(p.prefix, p.ns, "features", 1).journal),
      {},
      "no journal pending",
    );
    assert.deepEqual(
      await readAppliedPosition(redis, p.target(), "src"),
      toLogPosition(good2!),
      "the source moved past the refused message",
    );
  });
});

describe("a rebuild with a version switch while the live projection applies", () => {
  let t: TestDatabase;
  before(async () => {
    t = await createTestDatabase();
  });
  after(async () => {
    await t.drop();
  });

  const TOPIC = "live";
  const events = (n: number, seed: number) =>
    Array.from({ length: n }, (_, j) => ({
      event_id: randomUUID(),
      type: ["view", "click", "purchase"][j % 3]!,
      user_id: `ru${(seed * 7 + j) % 31}`,
      item_id: `ri${(seed * 13 + j * 5) % 19}`,
      timestamp: new Date(START + ((seed * 97 + j * 31) % 900) * 60_000).toISOString(),
    }));

  /**
   * Applies the log after `from` in batches of `size` as the live consumer of one partition would, up to what
   * is visible now, or (with `until`) until it has applied that position: the log shows rows only below the
   * oldest running transaction of the whole Postgres server, so the end of the log can show up late.
   */
  async function catchUp(
    p: RedisProjection,
    from: LogPosition,
    size: number,
    until?: LogPosition,
  ): Promise<LogPosition> {
    let position = from;
    for (;;) {
      const batch = await readLogBatch(t.db, position, size);
      if (batch.length === 0) {
        if (until === undefined || compareLogPositions(position, until) >= 0) return position;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      await p.apply({
        topic: TOPIC,
        partition: 0,
        messages: batch.map((message, i) => ({ offset: String(i), message })),
      });
      position = toLogPosition(batch[batch.length - 1]!);
    }
  }

  for (const backend of [single!, clustered!])
    for (const name of ["features", "recommendations"] as const)
      test(`${backend.name}, ${name}: the rebuilt version equals the live state`, async () => {
        await writeItems(
          t.db,
          Array.from({ length: 19 }, (_, i) => ({
            item_id: `ri${i}`,
            categories: [`rc${i % 4}`, ...(i % 3 === 0 ? ["rs"] : [])],
            attributes: {},
            available: true,
          })),
          new Date(),
        );
        let head = LOG_START;
        const append = async (n: number, seed: number) => {
          head = (await appendInteractionEvents(t.db, events(n, seed))).head ?? head;
        };
        for (let b = 0; b < 6; b++) await append(50, b);
        const live = fresh(name, backend.redis);
        let livePosition = await catchUp(live, LOG_START, 70);
        let writing = true;
        const writer = (async () => {
          for (let b = 100; writing; b++) {
            await append(15, b);
            livePosition = await catchUp(live, livePosition, 11);
          }
        })();
        const result = await replayProjection({
          db: t.db,
          projection: live,
          topic: TOPIC,
          partitions: 1,
          batchSize: 40,
        });
        writing = false;
        await writer;
        await catchUp(live, livePosition, 11, head);
        assert.equal(result.version, 2);
        const reference = fresh(name, backend.redis);
        await catchUp(reference, LOG_START, 1000, head);
        const state = async (p: RedisProjection, version: number) => {
          const dump = await dumpVersion(p.store, p.prefix, p.ns, version);
          delete dump.applied;
          return dump;
        };
        assert.deepEqual(await state(live, 2), await state(reference, 1));
        assert.deepEqual(await dumpVersion(live.store, live.prefix, live.ns, 1), {}, "old version deleted");
        assert.equal(live.store.kind === "Redis Cluster", backend === clustered);
      });
});
