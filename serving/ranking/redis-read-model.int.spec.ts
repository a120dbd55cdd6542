import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { catalog } from "../../projectors/runtime/testing.ts";
import { PROJECTION_STORES, storeForSuite } from "../../projectors/store/testing.ts";
import { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import { ArtifactReader, artifactKeys, publishArtifact } from "../models/artifact-store.ts";
import type { ModelArtifact } from "../recommender/artifact.ts";
import { RedisReadModel } from "./redis-read-model.ts";

/**
 * Serving's cached read model on every projection store (a single Redis, a cluster, in process), written by the features projection's
 * own code.
 */
for (const backend of PROJECTION_STORES)
  describe(backend.name, () => {
    const suite = storeForSuite(backend);
    const prefix = suite.prefix("rkcache");
    const features = async () => createFeaturesProjection(await suite.store(), { prefix });
    /** A catalog change of item `id` to `version`, as the ingest API logs it. */
    const catalogChange = (id: string, version: number, available: boolean, updatedAt: Date) =>
      catalog(id, ["c"], version, undefined, { available, updatedAt });

    const cacheMs = 300;

    /** Polls the catalog index every `cacheMs`; only that watch can refresh facts within a test (10-minute TTL). */
    function cachedReadModel(store: ProjectionStore): RedisReadModel {
      return new RedisReadModel({
        features: new FeaturesReader(store, prefix),
        recommendations: new RecommendationsReader(store, prefix),
        artifacts: new ArtifactReader(store, prefix),
        cacheMs,
        catalogCacheMs: 600_000,
      });
    }

    after(() => suite.cleanUp());

    test("cached catalog facts are dropped as soon as the catalog index shows the item changed", async () => {
      await (
        await features()
      ).applyMessages(
        [catalogChange("a", 1, true, new Date()), catalogChange("b", 1, true, new Date())],
        "t",
      );
      const readModel = cachedReadModel(await suite.store());
      assert.equal((await readModel.itemInfo(["a", "b"])).get("a")?.available, true);

      await (await features()).applyMessages([catalogChange("a", 2, false, new Date())], "t");
      // The next poll is due one cacheMs after the first; before it, the cached fact may still be served.
      await sleep(cacheMs + 50);
      const facts = await readModel.itemInfo(["a", "b"]);
      assert.equal(facts.get("a")?.available, false);
      assert.equal(facts.get("b")?.available, true);
    });

    test("a change that arrives out of order within the lookback is still seen", async () => {
      const minuteAgo = new Date(Date.now() - 60_000);
      await (
        await features()
      ).applyMessages([catalogChange("x", 1, true, minuteAgo), catalogChange("y", 1, true, minuteAgo)], "t");
      const readModel = cachedReadModel(await suite.store());
      await readModel.itemInfo(["x", "y"]);
      // y changes now; x's change is applied after it but carries an updated_at 2 s older (another partition).
      await (await features()).applyMessages([catalogChange("y", 2, false, new Date())], "t");
      await sleep(cacheMs + 50);
      assert.equal((await readModel.itemInfo(["x", "y"])).get("y")?.available, false);
      await (
        await features()
      ).applyMessages([catalogChange("x", 2, false, new Date(Date.now() - 2000))], "t");
      await sleep(cacheMs + 50);
      assert.equal((await readModel.itemInfo(["x"])).get("x")?.available, false);
    });

    test("kept precomputed user lists belong to their artifact version, and a bounded number is kept", async () => {
      const artifact = (lists: Record<string, string[]>): ModelArtifact => ({
        model: "test",
        params: {},
        neighbours: new Map(),
        itemBias: new Map(),
        popular: [],
        userCandidates: new Map(
          Object.entries(lists).map(([user, items]) => [
            user,
            items.map((item_id, i) => ({ item_id, score: 1 - i / 10 })),
          ]),
        ),
        trainMs: 0,
      });
      const store = await suite.store();
      const v1 = await publishArtifact(store, prefix, artifact({ u1: ["a", "b"], u2: ["c"], u3: ["d"] }));
      const v2 = await publishArtifact(store, prefix, artifact({ u1: ["e"] }));
      const readModel = new RedisReadModel({
        features: new FeaturesReader(store, prefix),
        recommendations: new RecommendationsReader(store, prefix),
        artifacts: new ArtifactReader(store, prefix),
        userListCacheEntries: 2,
      });
      const list = async (v: number, user: string) =>
        (await readModel.prefetchUserList(v, user)!.list)?.map((x) => x.item_id);

      assert.deepEqual(await list(v1, "u1"), ["a", "b"]);
      assert.deepEqual(await list(v2, "u1"), ["e"], "another version's list, not the kept one");
      assert.equal(await list(v2, "u2"), undefined, "v2 has no list for u2");
      assert.deepEqual(await list(v1, "u2"), ["c"]);
      // A kept list is served without Redis: with its key gone the answer is the same ...
      assert.equal(await store.type(artifactKeys.userCandidates(prefix, v1, "u2")), "string");
      await store.del([artifactKeys.userCandidates(prefix, v1, "u2")]);
      assert.deepEqual(await list(v1, "u2"), ["c"]);
      // ... until, with room for 2, two other users push it out (oldest first): then it is read again.
      await list(v1, "u3");
      await list(v1, "u1");
      assert.equal(await list(v1, "u2"), undefined);
    });
  });
