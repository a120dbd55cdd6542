import { deleteMatching, keysMatching, uncachedReadSide } from "../ranking/testing.ts";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import * as ort from "onnxruntime-node";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { countLogAfter } from "../../core/event-store/log-reader.ts";
import { LOG_START } from "../../core/contracts/position.ts";
import type { Database } from "../../core/postgres/database.ts";
import { ArtifactReader } from "./artifact-store.ts";
import { ModelHolder } from "./model-holder.ts";
import { logisticToOnnx, predictLogistic } from "./logistic.ts";
import { activateModel, activeVersion, listModels, loadModel, registerModel } from "./registry.ts";
import { trainAndRegister } from "./train.ts";
import { activateCommand, trainCommand } from "./commands.ts";
import { loadEnv } from "../../core/config/env.ts";
import { REDIS_BACKENDS } from "../../projectors/runtime/testing.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { FEATURE_NAMES } from "../ranking/features.ts";
import { servingRouter } from "../http/router.ts";

/** Train from a log, register, activate, hot-swap under load, roll back — on real Postgres and Redis. */
let tdb: TestDatabase;
const redis = new Redis(stackEnv().REDIS_URL);
const prefix = uniqueName("rklife");

// A small synthetic shop: 60 users, 30 items; users of "taste" t like items t, t+1, t+2 (mod 30) in order.
function shopEvents() {
  const start = Date.parse("2026-01-01T00:00:00Z");
  const events = [];
  let k = 0;
  for (let u = 0; u < 60; u++) {
    const taste = u % 10;
    for (let step = 0; step < 8; step++) {
      const item = `i${(taste * 3 + step + (step > 4 ? u % 3 : 0)) % 30}`;
      events.push({
        event_id: randomUUID(),
        type: "view",
        user_id: `u${u}`,
        item_id: item,
        timestamp: new Date(start + (k++ % 480) * 3_600_000 + u * 1000).toISOString(),
      });
    }
  }
  return events;
}

/**
 * Appends the shop's events and waits until training can read them: the log reader only reads below
 * `pg_snapshot_xmin`, which a transaction still open anywhere on the Postgres server (another test) holds back.
 */
async function appendShop(db: Database): Promise<void> {
  const events = shopEvents();
  await appendInteractionEvents(db, events);
  for (let waited = 0; (await countLogAfter(db, LOG_START)) < events.length; waited += 100) {
    if (waited > 60_000) throw new Error("the appended events did not become readable within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  tdb = await createTestDatabase();
  await appendShop(tdb.db);
});

after(async () => {
  await tdb?.drop();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

test("reckon train: held-out users under both protocols, ONNX equal to the trainer, evaluated against the active model, registered", async () => {
  const first = await trainAndRegister({ db: tdb.db, redis, prefix, activate: true, maxExamples: 2000 });
  assert.equal(first.version, 1);
  assert.equal(first.activated, true);
  assert.equal(first.artifact_version, 1);
  const m = first.metrics as {
    onnx_max_abs_diff: number;
    new: { auc: number };
    active?: unknown;
    examples: { fit_users: number; gate_users: number };
    gate: { activate: boolean; reason: string };
  };
  assert.ok(m.onnx_max_abs_diff < 1e-6, `ONNX vs trainer: ${m.onnx_max_abs_diff}`);
  assert.ok(m.examples.fit_users > 0 && m.examples.gate_users > 0);
  assert.match(
    m.gate.reason,
    /beats? the heuristic ranker: (random|temporal) /,
    "judged by its list against the heuristic",
  );
  assert.equal(m.active, undefined, "nothing was active before the first model");

  const second = await trainAndRegister({ db: tdb.db, prefix, maxExamples: 2000 });
  const m2 = second.metrics as { active?: { version: number; auc: number }; new: { auc: number } };
  assert.equal(
    m2.active?.version,
    1,
    "the candidate is compared with the active model on the same held-out slice",
  );
  assert.equal(
    m2.active?.auc,
    m.new.auc,
    "same data, same examples: the active model scores as it did when trained",
  );
  assert.equal(second.artifact_version, 1, "no Redis given: the active artifact is kept");
  assert.equal(await activeVersion(tdb.db), 1);

  // The stored file scores like the trainer's own function for the same inputs.
  const stored = (await loadModel(tdb.db, 1))!;
  const session = await ort.InferenceSession.create(stored.onnx);
  const rows = [
    [1, 0.5, 0, 0.2, 0.3, 1, 1, 0.4, 0.7, 0.3],
    [0, 0, 1, 1, 0, 0, 0, 0, 1, 0],
    [0.25, 0.1, 0.05, 0.01, 0.9, 0.6, 0.8, 0.1, 0.2, 0.5],
  ];
  const out = await session.run({
    features: new ort.Tensor("float32", Float32Array.from(rows.flat()), [3, FEATURE_NAMES.length]),
  });
  const weights = (first.metrics as { weights: Record<string, number>; bias: number }).weights;
  assert.deepEqual(Object.keys(weights), [...FEATURE_NAMES]);
  const list = await listModels(tdb.db);
  assert.deepEqual(
    list.map((r) => [r.version, r.active]),
    [
      [1, true],
      [2, false],
    ],
  );
  assert.equal((out.score!.data as Float32Array).length, 3);
});

test("hot swap under concurrent requests never fails one; rollback returns to the earlier version", async () => {
  // Two hand-made models: one ranks by popularity, one by trending; versions 3 and 4.
  const only = (name: string) => FEATURE_NAMES.map((n) => (n === name ? 5 : 0));
  const byPopular = logisticToOnnx({
    weights: only("popular_rr"),
    bias: 0,
    featureNames: [...FEATURE_NAMES],
  });
  const byTrending = logisticToOnnx({
    weights: only("trending_rr"),
    bias: 0,
    featureNames: [...FEATURE_NAMES],
  });
  assert.ok(
    Math.abs(
      predictLogistic({ weights: [0, 0, 0, 5, 0], bias: 0, featureNames: [] }, [0, 0, 0, 1, 0]) - 0.9933071,
    ) < 1e-6,
  );
  const a = await registerModel(tdb.db, { onnx: byPopular, source: "test", artifactVersion: null }, "test");
  const b = await registerModel(tdb.db, { onnx: byTrending, source: "test", artifactVersion: 1 }, "test");

  const holder = new ModelHolder({ db: tdb.db, pollMs: 60_000, releaseAfterMs: 1000 });
  await holder.start();
  const server = await serveForTest([
    servingRouter({
      ...uncachedReadSide(redis, prefix),
      ranker: () => holder.current(),
      config: servingConfigFromEnv({}),
      keys: new ApiKeys({ read: [TEST_KEYS.read], write: [], admin: [] }),
    }),
  ]);
  try {
    assert.equal(holder.current().version, 1);
    const seen = new Set<number | null>();
    let failures = 0;
    let requests = 0;
    let stop = false;
    const load = Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        while (!stop) {
          const res = await server.call("GET", `/v1/recommendations/u${w}?n=5`, { scope: "read" });
          requests++;
          if (res.status !== 200) failures++;
          else seen.add(res.body.model_version as number | null);
        }
      }),
    );
    for (const v of [a, b, a, b, 1, b]) {
      await activateModel(tdb.db, v, "test");
      await holder.refresh();
      assert.equal(holder.current().version, v);
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await load;
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`);
    assert.deepEqual([...seen].sort(), [1, a, b].sort());

    // Rollback: `reckon model activate 1` → serving answers with version 1 again.
    await activateModel(tdb.db, 1, "test");
    await holder.refresh();
    const res = await server.call("GET", "/v1/recommendations/u1?n=5", { scope: "read" });
    assert.equal(res.body.model_version, 1);
    assert.equal(holder.current().artifactVersion, 1);
  } finally {
    await server.close();
    await holder.stop();
  }
});

for (const backend of REDIS_BACKENDS)
  test(`${backend.name}: every training publishes a fresh artifact that serving reads at once, ranker activated or not; old ones are pruned; the model CLI moves the pointer`, async () => {
    // Its own registry, prefix and client: artifact numbers are per prefix, and the active model's artifact is kept.
    const db = await createTestDatabase();
    const p = uniqueName("rkart");
    const store = backend.open();
    try {
      await appendShop(db.db);
      const reader = new ArtifactReader(store, p);
      const versions: (number | null)[] = [];
      for (let i = 0; i < 3; i++)
        versions.push(
          (await trainAndRegister({ db: db.db, redis: store, prefix: p, maxExamples: 500 })).artifact_version,
        );
      assert.deepEqual(versions, [1, 2, 3]);
      assert.equal(await activeVersion(db.db), undefined, "no ranker was activated");
      assert.equal(await reader.activeVersion(0), 3, "serving reads the newest artifact anyway");
      // Kept: 3 (new) and 2 (what serving read until then); 1 is gone, every key of it (on every node).
      assert.deepEqual((await store.smembers(`${p}:model:versions`)).sort(), ["2", "3"]);
      assert.equal((await keysMatching(store, `${p}:model:1:*`)).length, 0);
      assert.ok((await keysMatching(store, `${p}:model:2:*`)).length > 0);
      // The per-user lists and the time they were trained up to (the log's latest event: 479 h and 59 s after the start).
      assert.equal((await reader.meta(3))?.trainedThrough, Date.parse("2026-01-20T23:00:59Z"));
      const list = await reader.userCandidates(3, "u0");
      assert.ok(list && list.length > 0, "u0 has a precomputed list");

      // `reckon model activate` (models 1..3 carry artifacts 1..3): a kept artifact becomes the one served, a
      // pruned one leaves the pointer where it is.
      const env = loadEnv({
        DATABASE_URL: db.url,
        KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
        REDIS_URL: backend.url(),
        RECKON_REDIS_PREFIX: p,
      });
      assert.deepEqual(await activateCommand(env, "2"), { activated: 2, artifact_version: 2 });
      assert.equal(await reader.activeVersion(0), 2);
      assert.deepEqual(await activateCommand(env, "1"), { activated: 1, artifact_version: null });
      assert.equal(await reader.activeVersion(0), 2, "artifact 1 was pruned: serving keeps 2");
      // `reckon train --activate --force`: a fourth artifact, served at once; 2 (serving until then) is kept.
      const trained = await trainCommand(env, { activate: true, force: true, maxExamples: "500" });
      assert.equal(trained.artifact_version, 4);
      assert.equal(trained.activated, true);
      assert.equal(await reader.activeVersion(0), 4);
      assert.deepEqual((await store.smembers(`${p}:model:versions`)).sort(), ["2", "4"]);
      assert.equal((await keysMatching(store, `${p}:model:3:*`)).length, 0);
    } finally {
      await db.drop();
      await deleteMatching(store, `${p}:*`);
      store.disconnect();
    }
  });
