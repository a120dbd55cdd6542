import { test } from "node:test";
import assert from "node:assert/strict";
import { loadEnv } from "../core/config/env.ts";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { openResources, startPlatform } from "./platform.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { catalog, interaction, REDIS_BACKENDS } from "../projectors/runtime/testing.ts";
import { activateArtifact, publishArtifact } from "../serving/models/artifact-store.ts";
import { deleteMatching } from "../serving/ranking/testing.ts";

/**
 * `reckon start --roles serving` (the platform's start function, as bin/reckon.ts calls it) on a single Redis URL
 * and on a `redis-cluster://` URL: it comes up ready and serves the active artifact's list.
 */
const answers = new Map<string, unknown>();
/** The same catalog change times on both backends (the `catalog` source lists the latest changed first). */
const CATALOG_CHANGED_FROM = Date.now() - 60_000;

for (const backend of REDIS_BACKENDS)
  test(`${backend.name}: the serving role starts on REDIS_URL=${backend.name === "single Redis" ? "redis://" : "redis-cluster://"}… and serves the active artifact`, async () => {
    const tdb = await createTestDatabase();
    const prefix = uniqueName("rkrole");
    const store = backend.open();
    const env = loadEnv({
      RECKON_REDIS_PREFIX: prefix,
      RECKON_TRAIN_INTERVAL_MINUTES: "0", // no periodic retrain inside a test
      DATABASE_URL: tdb.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
      REDIS_URL: backend.url(),
      PORT: "0",
      HOST: "127.0.0.1",
      RECKON_READ_KEYS: TEST_KEYS.read,
    });
    const resources = await openResources(env);
    try {
      const platform = await startPlatform(resources, ["serving"]);
      try {
        const base = `http://127.0.0.1:${platform.port}`;
        const ready = await fetch(`${base}/readyz`);
        const readiness = (await ready.json()) as { checks: { name: string; ok: boolean }[] };
        assert.equal(ready.status, 200);
        assert.deepEqual(
          readiness.checks.map((c) => [c.name, c.ok]),
          [
            ["postgres", true],
            ["redis", true],
          ],
        );

        // Catalog a1..a4 and u1's view of a1 (written by the projection's own code) before the training time of
        // an artifact listing a2, a3 for u1, made active.
        const features = createFeaturesProjection(store, { prefix });
        await features.applyMessages(
          ["a1", "a2", "a3", "a4"].map((id, i) =>
            catalog(id, ["c"], 1, 500 + i, { updatedAt: new Date(CATALOG_CHANGED_FROM + i * 1000) }),
          ),
          "test",
        );
        const viewedAt = Date.now() - 100 * 60_000;
        await features.applyMessages(
          [interaction("u1", "a1", "view", new Date(viewedAt).toISOString(), 600)],
          "test",
        );
        const v = await publishArtifact(
          store,
          prefix,
          {
            model: "test",
            params: {},
            neighbours: new Map(),
            itemBias: new Map(),
            popular: [],
            userCandidates: new Map([
              [
                "u1",
                [
                  { item_id: "a2", score: 0.9 },
                  { item_id: "a3", score: 0.4 },
                ],
              ],
            ]),
            trainMs: 0,
          },
          { trainedThrough: viewedAt + 60_000 },
        );
        await activateArtifact(store, prefix, v);

        const res = await fetch(`${base}/v1/recommendations/u1?n=3`, {
          headers: { authorization: `Bearer ${TEST_KEYS.read}` },
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as { items: { item_id: string; source: string }[] };
        const items = body.items.map((i) => i.item_id);
        assert.equal(items[0], "a2", `${items}`);
        assert.ok(items.includes("a3"), `${items}`);
        assert.ok(!items.includes("a1"), "u1 consumed a1");
        answers.set(
          backend.name,
          body.items.map((i) => [i.item_id, i.source]),
        );
      } finally {
        await platform.stop();
      }
    } finally {
      await resources.close();
      await deleteMatching(store, `${prefix}:*`);
      store.disconnect();
      await tdb.drop();
    }
  });

test("both backends answered the same items", () => {
  const [single, cluster] = REDIS_BACKENDS.map((b) => answers.get(b.name));
  assert.ok(single !== undefined && cluster !== undefined);
  assert.deepEqual(cluster, single);
});
