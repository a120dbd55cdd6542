// A recommendation variant under an experiment, on real Postgres (experiments, the event log) and Redis
// (the read models): GET /v1/recommendations?experiment=KEY assigns as the assignment endpoint does, ranks
// with the variant's ranker and records the exposure once per user.
import { uncachedReadSide } from "../ranking/testing.ts";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { createTestDatabase, stackEnv, uniqueName, type TestDatabase } from "../../core/testing/stack.ts";
import { serveForTest, TEST_KEYS } from "../../core/testing/http.ts";
import { ApiKeys } from "../../core/http/auth.ts";
import { ExperimentRepository } from "../../analytics/experiments/repository.ts";
import { assignVariant, exposureEventId } from "../assignment/index.ts";
import { HEURISTIC_RANKER, type Ranker } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "../ranking/config.ts";
import { servingRouter } from "../http/router.ts";
import { ExperimentVariants } from "./variants.ts";

const NOW = new Date("2026-11-22T12:00:00.000Z");
/** Stands in for a registered model: what matters here is which ranker answered (its version). */
const ACTIVE: Ranker = { ...HEURISTIC_RANKER, version: 42 };

const definition = {
  key: "ranker-test",
  name: "Heuristic against the active model",
  variants: [
    { key: "control", weight: 0.5, serving: { ranker: "active" as const } },
    { key: "heuristic", weight: 0.5, serving: { ranker: "heuristic" as const } },
  ],
  control: "control",
  traffic: 1,
  metrics: [{ key: "clicked", type: "conversion" as const, event_type: "click" }],
};

let t: TestDatabase;
const redis = new Redis(stackEnv().REDIS_URL);
const prefix = uniqueName("rkexp");
let server: Awaited<ReturnType<typeof serveForTest>>;

async function exposures(user: string): Promise<number> {
  const { rows } = await t.db.query<{ n: string }>("SELECT count(*) AS n FROM events WHERE event_id = $1", [
    exposureEventId(definition.key, user),
  ]);
  return Number(rows[0]!.n);
}

before(async () => {
  t = await createTestDatabase();
  const repo = new ExperimentRepository(t.db);
  await repo.execute({ type: "CreateExperiment", data: { api_key_id: "k", definition } }, NOW);
  await repo.execute(
    {
      type: "StartExperiment",
      data: { api_key_id: "k", experiment_key: definition.key, expected_version: 1 },
    },
    NOW,
  );
  server = await serveForTest([
    servingRouter({
      ...uncachedReadSide(redis, prefix),
      ranker: () => ACTIVE,
      config: { ...servingConfigFromEnv({}), cacheMs: 0 },
      keys: new ApiKeys({ read: [TEST_KEYS.read], write: [TEST_KEYS.write], admin: [TEST_KEYS.admin] }),
      experiments: new ExperimentVariants({ db: t.db, now: () => NOW }),
    }),
  ]);
});

after(async () => {
  await server?.close();
  await t?.drop();
  redis.disconnect();
});

describe("recommendations under an experiment", () => {
  it("ranks each user with their variant's ranker and records one exposure per user", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const user = `user-${i}`;
      const expected = assignVariant(definition, user)!.variant_key;
      seen.add(expected);
      const first = await server.call("GET", `/v1/recommendations/${user}?experiment=ranker-test`, {
        scope: "read",
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body.experiment, {
        key: "ranker-test",
        variant: expected,
        exposure: { event_id: exposureEventId("ranker-test", user), status: "accepted" },
      });
      assert.equal(first.body.model_version, expected === "heuristic" ? null : 42);
      const again = await server.call("GET", `/v1/recommendations/${user}?experiment=ranker-test`, {
        scope: "read",
      });
      assert.equal(again.body.experiment.variant, expected);
      assert.equal(again.body.experiment.exposure.status, "recorded_earlier");
      assert.equal(await exposures(user), 1);
    }
    assert.deepEqual([...seen].sort(), ["control", "heuristic"]); // both arms were exercised
  });

  it("says duplicate when another process already stored the user's exposure", async () => {
    const other = new ExperimentVariants({ db: t.db, now: () => NOW });
    const resolved = await other.resolve("ranker-test", "user-0");
    assert.equal(resolved.arm.variant, assignVariant(definition, "user-0")!.variant_key);
    assert.deepEqual(resolved.arm.variant && resolved.arm.exposure.status, "duplicate");
    assert.equal(await exposures("user-0"), 1);
  });

  it("answers without an arm for an unknown or stopped experiment, and 400 for a malformed key", async () => {
    const unknown = await server.call("GET", "/v1/recommendations/u1?experiment=nope", { scope: "read" });
    assert.equal(unknown.status, 200);
    assert.deepEqual(unknown.body.experiment, { key: "nope", variant: null, reason: "not_found" });
    assert.equal(unknown.body.model_version, 42);

    const bad = await server.call("GET", "/v1/recommendations/u1?experiment=%20x", { scope: "read" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, "experiment");
    assert.equal(bad.body.errors[0].received, " x");

    await new ExperimentRepository(t.db).execute(
      {
        type: "StopExperiment",
        data: { api_key_id: "k", experiment_key: definition.key, expected_version: 2 },
      },
      NOW,
    );
    const fresh = new ExperimentVariants({ db: t.db, ttlMs: 0 });
    assert.deepEqual((await fresh.resolve("ranker-test", "user-1")).arm, {
      key: "ranker-test",
      variant: null,
      reason: "not_running",
    });
  });

  it("refuses a variant naming a model version that is not registered, with the version in the error", async () => {
    const repo = new ExperimentRepository(t.db);
    await repo.execute(
      {
        type: "CreateExperiment",
        data: {
          api_key_id: "k",
          definition: {
            ...definition,
            key: "missing-model",
            variants: [
              { key: "control", weight: 0.5, serving: { ranker: 9999 } },
              { key: "other", weight: 0.5, serving: { ranker: 9999 } },
            ],
          },
        },
      },
      NOW,
    );
    await repo.execute(
      {
        type: "StartExperiment",
        data: { api_key_id: "k", experiment_key: "missing-model", expected_version: 1 },
      },
      NOW,
    );
    const variants = new ExperimentVariants({ db: t.db });
    await assert.rejects(
      variants.resolve("missing-model", "u1"),
      /model version 9999, which is not registered/,
    );
  });
});
