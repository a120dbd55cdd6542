import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { compareLogPositions } from "../../core/contracts/position.ts";
import { uniqueName } from "../../core/testing/stack.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import { createFeaturesProjection, FEATURES_NS } from "../features/projection.ts";
import { FeaturesReader } from "../features/read.ts";
import { createRecommendationsProjection, RECOMMENDATIONS_NS } from "../recommendations/projection.ts";
import { RecommendationsReader } from "../recommendations/read.ts";
import { versionBase } from "../../core/read-models/keys.ts";
import { catalog, dumpVersion, interaction } from "../runtime/testing.ts";
import type { RedisProjection } from "../runtime/redis-projection.ts";
import type { ModelArtifact } from "../../serving/recommender/artifact.ts";
import {
  activateArtifact,
  ArtifactReader,
  publishArtifact,
  pruneArtifacts,
} from "../../serving/models/artifact-store.ts";
import type { MemoryProjectionStore } from "./memory-store.ts";
import { PROJECTION_STORES, type TestStoreBackend } from "./testing.ts";

/**
 * The projection store's conformance suite, run on every adapter (single Redis, Redis Cluster, in process): the
 * same op batches, split, interleaved across sources and redelivered differently, give the same stored state and
 * the same reads as one uninterrupted run on a single Redis; a restart (close and reopen; for the in-process
 * store also a kill, which leaves only its journal) changes nothing that was acknowledged; version switches
 * and the batch artifact behave alike.
 */

const TOPIC = "t";
const START = Date.UTC(2026, 0, 1);
const AT_MS = START + 600 * 60_000;
const USERS = Array.from({ length: 11 }, (_, u) => `u${u}`);
const ITEMS = Array.from({ length: 13 }, (_, i) => `i${i}`);
const CATEGORIES = ["c0", "c1", "c2", "c3", "new"];

/** Catalog first (its own source), then interactions partitioned by user: sources whose effects commute. */
function workload(): { catalogMessages: LogMessage[]; byPartition: LogMessage[][] } {
  const catalogMessages = ITEMS.flatMap((item, i) => [
    catalog(item, [`c${i % 3}`, `c${(i + 1) % 4}`], 1),
    ...(i % 4 === 0 ? [catalog(item, [`c${i % 3}`, "new"], 2)] : []),
  ]);
  const byPartition: LogMessage[][] = [[], [], []];
  const types = ["view", "click", "purchase", "add_to_cart", "rating"];
  for (let n = 0; n < 420; n++) {
    const u = (n * 5) % USERS.length;
    byPartition[u % 3]!.push(
      interaction(
        USERS[u]!,
        ITEMS[(n * 7 + u) % ITEMS.length]!,
        types[n % types.length]!,
        // Event times out of arrival order within a user (late events), inside the read windows.
        new Date(START + ((n * 7919) % 600) * 60_000).toISOString(),
      ),
    );
  }
  byPartition[1]!.push(interaction("u1", undefined, "exposure", new Date(START).toISOString()));
  return { catalogMessages, byPartition };
}

const { catalogMessages, byPartition } = workload();
const source = (p: number) => `${TOPIC}:${p}`;
const CATALOG_SOURCE = "catalog";

/** A batch of one source: the messages, where they go. */
type Step = [source: string, messages: readonly LogMessage[]];

const windows = (xs: readonly LogMessage[], size: number, step = size) => {
  const out: LogMessage[][] = [];
  for (let i = 0; i < xs.length; i += step) out.push(xs.slice(i, i + size));
  return out;
};

/** Round-robin over the sources' batches, in the given source order. */
function interleave(perSource: readonly Step[][], order: readonly number[]): Step[] {
  const out: Step[] = [];
  for (let k = 0; perSource.some((s) => k < s.length); k++)
    for (const p of order) if (k < perSource[p]!.length) out.push(perSource[p]![k]!);
  return out;
}

/** The ways the workload is delivered: every one must end in the same state. */
const DELIVERIES: Record<string, () => Step[]> = {
  "one batch per source": () => [
    [CATALOG_SOURCE, catalogMessages],
    ...byPartition.map((m, p): Step => [source(p), m]),
  ],
  "batches of 7, interleaved": () => [
    ...windows(catalogMessages, 7).map((m): Step => [CATALOG_SOURCE, m]),
    ...interleave(
      byPartition.map((m, p) => windows(m, 7).map((w): Step => [source(p), w])),
      [2, 0, 1],
    ),
  ],
  "overlapping redeliveries, interleaved": () => [
    [CATALOG_SOURCE, catalogMessages],
    [CATALOG_SOURCE, catalogMessages.slice(3)],
    ...interleave(
      byPartition.map((m, p) => windows(m, 23, 15).map((w): Step => [source(p), w])),
      [1, 2, 0],
    ),
  ],
};

type Projections = { features: RedisProjection; recs: RedisProjection };

function projectionsOn(store: ProjectionStore, prefix: string): Projections {
  return {
    features: createFeaturesProjection(store, { prefix }),
    recs: createRecommendationsProjection(store, { prefix }),
  };
}

async function deliver(p: Projections, steps: readonly Step[]): Promise<void> {
  for (const [src, messages] of steps) {
    await p.features.applyMessages(messages, src);
    await p.recs.applyMessages(messages, src);
  }
}

/** Everything serving reads, at a fixed time, plus the applied positions. */
async function reads(store: ProjectionStore, p: Projections) {
  const features = new FeaturesReader(store, p.features.prefix);
  const recs = new RecommendationsReader(store, p.recs.prefix);
  const out: Record<string, unknown> = {};
  for (const u of USERS) {
    out[`features ${u}`] = await features.getUserFeatures(u, AT_MS);
    out[`recent ${u}`] = await features.getRecentInteractions(u, 50);
    out[`ranking ${u}`] = await features.getRankingState(u, AT_MS);
    out[`history ${u}`] = await recs.getUserHistory(u, 20);
  }
  for (const i of ITEMS) {
    out[`popularity ${i}`] = await features.getItemPopularity(i, AT_MS);
    out[`neighbours ${i}`] = await recs.getNeighbours(i, 20);
  }
  for (const horizon of ["short", "long"] as const) {
    out[`trending ${horizon}`] = await features.getTrending(undefined, 10, horizon, AT_MS);
    for (const c of CATEGORIES)
      out[`trending ${horizon} ${c}`] = await features.getTrending(c, 10, horizon, AT_MS);
  }
  out.catalog = await features.getCatalogItems(100);
  out.changes = await features.getCatalogChanges(0);
  out.facts = [...(await features.getItemFacts([...ITEMS, "unknown"]))];
  out.items = [...(await features.getItems(ITEMS))];
  for (const src of [CATALOG_SOURCE, ...byPartition.map((_, p) => source(p))]) {
    out[`features applied ${src}`] = await store.appliedPosition(p.features.target(), src);
    out[`recs applied ${src}`] = await store.appliedPosition(p.recs.target(), src);
  }
  return out;
}

const state = async (store: ProjectionStore, p: Projections) => ({
  features: await dumpVersion(store, p.features.prefix, FEATURES_NS, 1),
  recs: await dumpVersion(store, p.recs.prefix, RECOMMENDATIONS_NS, 1),
});

/** The reference: the workload in one batch per source on a single Redis. */
let reference: { reads: Record<string, unknown>; state: Awaited<ReturnType<typeof state>> };
before(async () => {
  const single = PROJECTION_STORES[0]!;
  const place = single.place();
  const store = await single.open(place);
  const prefix = uniqueName("rkconf");
  try {
    const p = projectionsOn(store, prefix);
    await deliver(p, DELIVERIES["one batch per source"]!());
    reference = { reads: await reads(store, p), state: await state(store, p) };
  } finally {
    await store.deleteByPrefix(`${prefix}:`);
    await store.close();
  }
  // The reference holds the whole workload: every user's history and every item's catalog entry.
  for (const u of USERS) assert.ok(`{u:${u}}:recent` in reference.state.features, u);
  for (const i of ITEMS) assert.ok(`{i:${i}}:item` in reference.state.features, i);
  for (const i of ITEMS) assert.ok(`{i:${i}}:nbrs` in reference.state.recs, i);
});

/** Opens a store for one test and removes what it wrote afterwards. */
async function withStore<T>(
  backend: TestStoreBackend,
  run: (store: ProjectionStore, prefix: string, place: string) => Promise<T>,
): Promise<T> {
  const place = backend.place();
  const prefix = uniqueName("rkconf");
  const store = await backend.open(place);
  try {
    return await run(store, prefix, place);
  } finally {
    const cleanup = await backend.open(place).catch(() => store);
    await cleanup.deleteByPrefix(`${prefix}:`);
    await cleanup.close();
    if (cleanup !== store) await store.close().catch(() => undefined);
    backend.cleanUp(place);
  }
}

for (const backend of PROJECTION_STORES) {
  describe(`projection store conformance: ${backend.name}`, () => {
    for (const [name, steps] of Object.entries(DELIVERIES)) {
      test(`${name}: the same state and the same reads as one batch on a single Redis`, async () => {
        await withStore(backend, async (store, prefix) => {
          const p = projectionsOn(store, prefix);
          await deliver(p, steps());
          assert.deepEqual(await state(store, p), reference.state);
          assert.deepEqual(await reads(store, p), reference.reads);
        });
      });
    }

    test("a restart between batches (close, reopen) changes nothing acknowledged", async () => {
      await withStore(backend, async (first, prefix, place) => {
        const steps = DELIVERIES["batches of 7, interleaved"]!();
        const half = Math.floor(steps.length / 2);
        await deliver(projectionsOn(first, prefix), steps.slice(0, half));
        const before = await state(first, projectionsOn(first, prefix));
        await first.close();
        const second = await backend.open(place);
        try {
          const p = projectionsOn(second, prefix);
          assert.deepEqual(await state(second, p), before);
          // Redelivery of what was acknowledged before the restart is skipped.
          await deliver(p, steps.slice(half - 3));
          assert.deepEqual(await state(second, p), reference.state);
          assert.deepEqual(await reads(second, p), reference.reads);
        } finally {
          await second.close();
        }
      });
    });

    test("a rebuild into a new version switches only once it has passed the live sources", async () => {
      await withStore(backend, async (store, prefix) => {
        const live = projectionsOn(store, prefix);
        const all = DELIVERIES["one batch per source"]!();
        await deliver(live, all.slice(0, 3)); // catalog, partitions 0 and 1 live; partition 2 not yet
        // The rebuild reads the log (position order) up to the live sources' furthest position.
        const last = [byPartition[0]!.at(-1)!, byPartition[1]!.at(-1)!]
          .map(toLogPosition)
          .reduce((a, b) => (compareLogPositions(a, b) >= 0 ? a : b));
        const rebuilt = [catalogMessages, ...byPartition]
          .flat()
          .sort((a, b) => compareLogPositions(toLogPosition(a), toLogPosition(b)))
          .filter((m) => compareLogPositions(toLogPosition(m), last) <= 0);
        const behind = toLogPosition(byPartition[1]!.at(-5)!);
        for (const proj of [live.features, live.recs]) {
          await proj.applyMessages(rebuilt, "log", 2);
          const sources = [0, 1, 2].map(source);
          assert.equal(await store.switchVersion(proj.target(), 1, 2, behind, sources), false, "live ahead");
          assert.equal(await store.currentVersion(prefix, proj.name), 1);
          // The catalog source is stored in version 1 and handed over too; "log" (the rebuild's) is not.
          assert.equal(await store.switchVersion(proj.target(), 1, 2, last, sources), true);
          assert.equal(await store.currentVersion(prefix, proj.name), 2);
          for (const src of [...sources, CATALOG_SOURCE])
            assert.deepEqual(await store.appliedPosition(proj.target(), src), last, src);
          const old = versionBase(prefix, proj.ns, 1);
          assert.ok((await store.deleteByPrefix(old)) > 0);
          assert.deepEqual(await store.keysByPrefix(old), []);
        }
        // The live consumer now writes version 2: what the rebuild applied is skipped, the rest applied.
        await deliver(live, all);
        const rebuiltState = {
          features: await dumpVersion(store, prefix, FEATURES_NS, 2),
          recs: await dumpVersion(store, prefix, RECOMMENDATIONS_NS, 2),
        };
        // Applied positions differ (the switch stored the rebuild's everywhere); the data does not.
        const data = (s: typeof rebuiltState) => {
          const { applied: _f, ...f } = s.features;
          const { applied: _r, ...r } = s.recs;
          return { f, r };
        };
        assert.deepEqual(data(rebuiltState), data(reference.state));
      });
    });

    test("the batch artifact publishes, reads back, activates and prunes alike", async () => {
      await withStore(backend, async (store, prefix) => {
        const artifact = (seed: number): ModelArtifact => ({
          model: `m${seed}`,
          params: { seed },
          neighbours: new Map(ITEMS.map((id, i) => [id, [{ item_id: ITEMS[(i + seed) % 13]!, score: 0.5 }]])),
          itemBias: new Map(ITEMS.map((id, i) => [id, i / 8 - seed])),
          popular: ITEMS.slice(0, 3).map((item_id, i) => ({ item_id, score: 3 - i })),
          userCandidates: new Map([["u1", [{ item_id: "i2", score: 0.25 }]]]),
          trainMs: 0,
        });
        const v1 = await publishArtifact(store, prefix, artifact(1), { trainedThrough: 42 });
        const v2 = await publishArtifact(store, prefix, artifact(2));
        assert.deepEqual([v1, v2], [1, 2]);
        await activateArtifact(store, prefix, v1);
        const reader = new ArtifactReader(store, prefix);
        assert.equal(await reader.activeVersion(0), 1);
        assert.deepEqual(await reader.meta(v1), { trainedThrough: 42 });
        assert.deepEqual(
          [...(await reader.neighbours(v1, ["i0", "i12", "nope"]))],
          [
            ["i0", [{ item_id: "i1", score: 0.5 }]],
            ["i12", [{ item_id: "i0", score: 0.5 }]],
          ],
        );
        assert.deepEqual([...(await reader.bias(v2, ["i4", "nope"]))], [["i4", 0.5 - 2]]);
        assert.deepEqual(await reader.popular(v1), [
          { item_id: "i0", score: 3 },
          { item_id: "i1", score: 2 },
          { item_id: "i2", score: 1 },
        ]);
        assert.deepEqual(await reader.userCandidates(v1, "u1"), [{ item_id: "i2", score: 0.25 }]);
        assert.equal(await reader.userCandidates(v1, "u2"), undefined);
        const v3 = await publishArtifact(store, prefix, artifact(3));
        assert.deepEqual(
          await pruneArtifacts(store, prefix, [v3]),
          [2],
          "the active v1 and the kept v3 stay",
        );
        assert.deepEqual(await store.keysByPrefix(`${prefix}:model:2:`), []);
        assert.ok((await store.keysByPrefix(`${prefix}:model:1:`)).length > 13);
      });
    });

    test("deleteTagged removes one user's keys in every namespace and version, and nothing else", async () => {
      await withStore(backend, async (store, prefix) => {
        const p = projectionsOn(store, prefix);
        await deliver(p, DELIVERIES["one batch per source"]!());
        // A second version and a model artifact key of the same user, and a user whose id extends u1's.
        await store.set(`${prefix}:f:v2:{u:u1}:p`, "x");
        await store.set(`${prefix}:model:3:{u:u1}:cands`, "[]");
        await store.set(`${prefix}:f:v1:{u:u12}:p`, "y");
        const before = await store.keysByPrefix(`${prefix}:`);
        const ofU1 = before.filter((k) => k.includes("{u:u1}"));
        assert.ok(ofU1.length >= 5, `u1 has keys in both projections: ${ofU1.join(", ")}`);
        assert.equal(await store.deleteTagged(prefix, "{u:u1}"), ofU1.length);
        assert.deepEqual(
          await store.keysByPrefix(`${prefix}:`),
          before.filter((k) => !ofU1.includes(k)),
        );
        assert.equal(await store.deleteTagged(prefix, "{u:u1}"), 0, "a second erasure finds nothing");
        assert.equal(await store.get(`${prefix}:f:v1:{u:u12}:p`), "y");
      });
    });
  });
}

describe("projection store conformance: in-process store after a kill", () => {
  const backend = PROJECTION_STORES.find((b) => b.name === "in-process")!;

  test("a kill between batches (no snapshot, only the journal) changes nothing acknowledged", async () => {
    await withStore(backend, async (first, prefix, place) => {
      const steps = DELIVERIES["overlapping redeliveries, interleaved"]!();
      const cut = Math.floor(steps.length / 3);
      await deliver(projectionsOn(first, prefix), steps.slice(0, cut));
      await first.flush(); // a snapshot, then more batches in the journal only
      await deliver(projectionsOn(first, prefix), steps.slice(cut, 2 * cut));
      const before = await state(first, projectionsOn(first, prefix));
      (first as MemoryProjectionStore).abandon();
      const second = await backend.open(place);
      try {
        const p = projectionsOn(second, prefix);
        assert.deepEqual(await state(second, p), before);
        await deliver(p, steps.slice(2 * cut - 2));
        assert.deepEqual(await state(second, p), reference.state);
        assert.deepEqual(await reads(second, p), reference.reads);
      } finally {
        await second.close();
      }
    });
  });

  test("a second opener of the same data dir is refused with the reason", async () => {
    await withStore(backend, async (_store, _prefix, place) => {
      await assert.rejects(backend.open(place), /is in use by process \d+; one process at a time/);
    });
  });
});
