import { test } from "node:test";
import assert from "node:assert/strict";
import { loadEnv } from "../core/config/env.ts";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { TEST_KEYS } from "../core/testing/http.ts";
import { openResources, startPlatform } from "./platform.ts";
import { createFeaturesProjection } from "../projectors/features/projection.ts";
import { catalog, interaction } from "../projectors/runtime/testing.ts";
import { PROJECTION_STORES } from "../projectors/store/testing.ts";
import { activateArtifact, publishArtifact } from "../serving/models/artifact-store.ts";

/**
 * `reckon start --roles serving` (the platform's start function, as bin/reckon.ts calls it) on a single Redis URL,
 * a `redis-cluster://` URL and a `memory://` URL (the in-process store): it comes up ready and serves the active
 * artifact's list. The test writes through the platform's own store (the in-process one admits one opener).
 */
const answers = new Map<string, unknown>();
/** The same catalog change times on every store (the `catalog` source lists the latest changed first). */
const CATALOG_CHANGED_FROM = Date.now() - 60_000;

for (const backend of PROJECTION_STORES)
  test(`${backend.name}: the serving role starts on REDIS_URL=${backend.scheme}… and serves the active artifact`, async () => {
    const tdb = await createTestDatabase();
    const prefix = uniqueName("rkrole");
    const place = backend.place();
    const env = loadEnv({
      RECKON_REDIS_PREFIX: prefix,
      RECKON_TRAIN_INTERVAL_MINUTES: "0", // no periodic retrain inside a test
      DATABASE_URL: tdb.url,
      KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
      REDIS_URL: place,
      PORT: "0",
      HOST: "127.0.0.1",
      RECKON_READ_KEYS: TEST_KEYS.read,
    });
    const resources = await openResources(env);
    const store = await resources.projectionStore();
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
      await store.deleteByPrefix(`${prefix}:`);
      await resources.close();
      backend.cleanUp(place);
      await tdb.drop();
    }
  });

test("every store answered the same items", () => {
  const [single, ...others] = PROJECTION_STORES.map((b) => answers.get(b.name));
  assert.ok(single !== undefined && others.every((o) => o !== undefined));
  for (const other of others) assert.deepEqual(other, single);
});
