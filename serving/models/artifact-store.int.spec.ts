import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { isCluster } from "../../core/redis/redis.ts";
import { uniqueName } from "../../core/testing/stack.ts";
import { closeRedis, REDIS_BACKENDS } from "../../projectors/runtime/testing.ts";
import { deleteMatching, keysMatching } from "../ranking/testing.ts";
import type { ModelArtifact } from "../recommender/artifact.ts";
import {
  activateArtifact,
  ArtifactReader,
  artifactKeys,
  publishArtifact,
  pruneArtifacts,
} from "./artifact-store.ts";

/**
 * Artifact publish, read back, activation and pruning on a single Redis and on a Redis Cluster, with the same
 * expectations. 700 items and 700 users: more than one write chunk (500), and keys on every master of the cluster.
 */
const ITEMS = 700;
const items = Array.from({ length: ITEMS }, (_, i) => `i${i}`);
const users = Array.from({ length: ITEMS }, (_, u) => `u${u}`);
const score = (a: number, b: number) => Math.round(((a * 31 + b * 17) % 1000) / 7) / 1000;

function artifact(seed: number): ModelArtifact {
  return {
    model: `test-${seed}`,
    params: { seed },
    neighbours: new Map(
      items.map((id, i) => [
        id,
        [1, 2, 3].map((d) => ({ item_id: items[(i + d * seed) % ITEMS]!, score: score(i + seed, d) })),
      ]),
    ),
    itemBias: new Map(items.map((id, i) => [id, score(i, seed) - 0.05])),
    popular: items.slice(0, 50).map((item_id, i) => ({ item_id, score: 50 - i + seed })),
    userCandidates: new Map(
      users.map((u, k) => [
        u,
        [0, 1].map((d) => ({ item_id: items[(k + d + seed) % ITEMS]!, score: 1 - d / 4 })),
      ]),
    ),
    trainMs: 0,
  };
}

for (const backend of REDIS_BACKENDS) {
  describe(backend.name, () => {
    const redis = backend.open();
    const prefix = uniqueName("rkart");

    after(async () => {
      await deleteMatching(redis, `${prefix}:*`);
      await closeRedis(redis);
    });

    test("a published artifact reads back exactly: neighbours, bias, user lists, popular list, meta", async () => {
      const published = artifact(1);
      const v = await publishArtifact(redis, prefix, published, { trainedThrough: 1_700_000_000_000 });
      assert.equal(v, 1);
      const reader = new ArtifactReader(redis, prefix);
      assert.deepEqual(await reader.neighbours(v, [...items, "unknown"]), published.neighbours);
      assert.deepEqual(await reader.bias(v, [...items, "unknown"]), published.itemBias);
      for (const u of users)
        assert.deepEqual(await reader.userCandidates(v, u), published.userCandidates!.get(u));
      assert.equal(await reader.userCandidates(v, "nobody"), undefined);
      assert.deepEqual(await reader.popular(v), published.popular);
      assert.deepEqual(await reader.meta(v), { trainedThrough: 1_700_000_000_000 });
      const meta = JSON.parse((await redis.get(artifactKeys.meta(prefix, v)))!) as Record<string, unknown>;
      assert.deepEqual(
        { ...meta, published_at: typeof meta.published_at },
        {
          model: "test-1",
          params: { seed: 1 },
          items: ITEMS,
          users: ITEMS,
          trained_through: 1_700_000_000_000,
          published_at: "string",
        },
      );
      // 700 neighbour lists + 700 user lists + bias, popular, meta; plus seq and versions.
      assert.equal((await keysMatching(redis, `${prefix}:model:${v}:*`)).length, 2 * ITEMS + 3);
      if (isCluster(redis)) {
        // The per-item and per-user keys spread over every master (the writes really crossed nodes).
        const perNode = await Promise.all(
          redis.nodes("master").map(async (node) => (await node.dbsize()) > 0),
        );
        assert.deepEqual(perNode, [true, true, true]);
      }
    });

    test("activation flips the pointer readers select, and a rollback flips it back", async () => {
      const reader = new ArtifactReader(redis, prefix);
      assert.equal(await reader.activeVersion(0), null, "nothing is active before activation");
      const v2 = await publishArtifact(redis, prefix, artifact(2));
      assert.equal(v2, 2);
      assert.equal(await reader.activeVersion(0), null, "publishing alone serves nothing");
      await activateArtifact(redis, prefix, 1);
      assert.equal(await reader.activeVersion(0), 1);
      await activateArtifact(redis, prefix, v2);
      assert.equal(await reader.activeVersion(0), 2);
      assert.deepEqual((await reader.neighbours(2, ["i0"])).get("i0"), artifact(2).neighbours.get("i0"));
      await activateArtifact(redis, prefix, 1);
      assert.equal(await reader.activeVersion(0), 1);
      assert.deepEqual((await reader.neighbours(1, ["i0"])).get("i0"), artifact(1).neighbours.get("i0"));
    });

    test("followers read back per item; a version published without them reads none (older artifacts load)", async () => {
      const followers = new Map([
        [
          "i1",
          [
            { item_id: "i2", score: 0.5 },
            { item_id: "i3", score: 0.25 },
          ],
        ],
        ["i2", [{ item_id: "i1", score: 1 }]],
      ]);
      const withFollowers = await publishArtifact(redis, `${prefix}f`, { ...artifact(5), followers });
      const without = await publishArtifact(redis, `${prefix}f`, artifact(6));
      const reader = new ArtifactReader(redis, `${prefix}f`);
      assert.deepEqual(await reader.followers(withFollowers, ["i1", "i2", "i9"]), followers);
      assert.deepEqual(await reader.followers(without, ["i1", "i2"]), new Map());
      // Neighbours and followers of one item are separate keys and separate caches.
      assert.deepEqual(
        (await reader.neighbours(withFollowers, ["i1"])).get("i1"),
        artifact(5).neighbours.get("i1"),
      );
      const meta = JSON.parse((await redis.get(artifactKeys.meta(`${prefix}f`, withFollowers)))!) as {
        followers?: number;
      };
      assert.equal(meta.followers, 2);
      await deleteMatching(redis, `${prefix}f:*`);
    });

    test("pruning deletes every key of dropped versions on every node, never the active one or a newer one", async () => {
      // Stored: 1 (active), 2; publish 3 and 4. Keep only 3: 1 stays (active), 4 stays (newer than 3: another
      // trainer may still be writing it), 2 goes.
      const v3 = await publishArtifact(redis, prefix, artifact(3));
      const v4 = await publishArtifact(redis, prefix, artifact(4));
      assert.deepEqual([v3, v4], [3, 4]);
      assert.deepEqual(await pruneArtifacts(redis, prefix, [v3]), [2]);
      assert.deepEqual(await keysMatching(redis, `${prefix}:model:2:*`), []);
      assert.deepEqual((await redis.smembers(artifactKeys.versions(prefix))).sort(), ["1", "3", "4"]);
      for (const v of [1, 3, 4])
        assert.equal((await keysMatching(redis, `${prefix}:model:${v}:*`)).length, 2 * ITEMS + 3, `v${v}`);

      // Serving moves to 4; keeping 4 drops 1 and 3, and what is left reads back whole.
      await activateArtifact(redis, prefix, v4);
      assert.deepEqual(await pruneArtifacts(redis, prefix, [v4]), [1, 3]);
      assert.deepEqual((await redis.smembers(artifactKeys.versions(prefix))).sort(), ["4"]);
      const left = await keysMatching(redis, `${prefix}:model:*`);
      assert.equal(left.length, 2 * ITEMS + 3 + 3, "version 4, plus seq, versions and active");
      assert.ok(left.every((k) => /:model:(4:|seq$|versions$|active$)/.test(k)));
      const reader = new ArtifactReader(redis, prefix);
      assert.deepEqual(await reader.neighbours(4, items), artifact(4).neighbours);
      assert.deepEqual(await pruneArtifacts(redis, prefix, [v4]), [], "nothing more to drop");
    });
  });
}
