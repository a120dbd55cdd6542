import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { fixedClock } from "../../core/clock/clock.ts";
import { DEFAULT_FEATURES_CONFIG } from "../../core/read-models/features-config.ts";
import { uniqueName } from "../../core/testing/stack.ts";
import { createFeaturesProjection } from "../../projectors/features/projection.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { createRecommendationsProjection } from "../../projectors/recommendations/projection.ts";
import { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import { catalog, closeRedis, interaction, REDIS_BACKENDS } from "../../projectors/runtime/testing.ts";
import { ArtifactReader } from "../models/artifact-store.ts";
import { HEURISTIC_RANKER } from "../models/model-holder.ts";
import { servingConfigFromEnv } from "./config.ts";
import { rankForUser, type RankingDeps } from "./rank.ts";
import { RedisReadModel } from "./redis-read-model.ts";
import { deleteMatching } from "./testing.ts";

/**
 * Serving keeps process-wide state between requests (the in-process caches of read-model data, and one summing
 * table the recency-weighted neighbour feature of every request is computed in). Requests in flight together must
 * still get exactly the answers they get one at a time, and the caches must change no answer: every user's list and
 * the ranker's feature rows are compared across the three, on data written by the projections' own code.
 */
const redis = REDIS_BACKENDS[0]!.open();
const prefix = uniqueName("rkconc");
const NOW = Date.parse("2026-12-01T00:00:00Z");
const USERS = 40;
const ITEMS = 60;

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

before(async () => {
  const projections = [
    createFeaturesProjection(redis, { prefix }),
    createRecommendationsProjection(redis, { prefix }),
  ];
  const rand = lcg(3);
  const messages = Array.from({ length: ITEMS }, (_, i) =>
    catalog(`i${i}`, [`c${i % 5}`], 1, undefined, {
      available: i % 13 !== 0,
      updatedAt: new Date(NOW - 86_400_000),
    }),
  );
  for (let u = 0; u < USERS; u++)
    for (let k = 0; k < 12; k++) {
      // Overlapping histories, skewed to the low item numbers: long, shared neighbour lists.
      const item = `i${Math.floor(Math.pow(rand(), 2) * ITEMS)}`;
      const at = new Date(NOW - 3_600_000 + (u * 12 + k) * 1000).toISOString();
      messages.push(interaction(`u${u}`, item, rand() < 0.8 ? "view" : "click", at));
    }
  for (const p of projections) await p.applyMessages(messages, "test");
});

after(async () => {
  await deleteMatching(redis, `${prefix}:*`);
  await closeRedis(redis);
});

function deps(cacheMs: number): RankingDeps {
  const clock = fixedClock(NOW);
  const features = new FeaturesReader(redis, prefix, DEFAULT_FEATURES_CONFIG, undefined, clock);
  return {
    readModel: new RedisReadModel({
      features,
      recommendations: new RecommendationsReader(redis, prefix),
      artifacts: new ArtifactReader(redis, prefix),
      cacheMs,
    }),
    features,
    ranker: () => HEURISTIC_RANKER,
    config: servingConfigFromEnv({}),
    clock,
  };
}

const requests = [
  ...Array.from({ length: USERS }, (_, u) => ({ userId: `u${u}`, n: 10, categories: [], exclude: [] })),
  { userId: "nobody", n: 10, categories: [], exclude: [] },
  { userId: "u3", n: 20, categories: ["c1"], exclude: ["i2"] },
];
const answer = async (d: RankingDeps, req: (typeof requests)[number]) => {
  const { items, scored } = await rankForUser(d, { ...req, explain: true });
  return { items, scored };
};

test("requests in flight together answer as one at a time, with and without the in-process caches", async () => {
  const uncached = deps(0);
  const oneAtATime = [];
  for (const req of requests) oneAtATime.push(await answer(uncached, req));
  // The neighbour feature is non-trivial for most users (else the comparison would not cover its shared table).
  const withRecent = oneAtATime.filter((a) => a.scored.some((s) => (s.features.recent_neighbours ?? 0) > 0));
  assert.ok(withRecent.length >= USERS / 2, `${withRecent.length} users with recent_neighbours`);

  const cached = deps(60_000);
  for (let round = 0; round < 2; round++) {
    const together = await Promise.all(requests.map((req) => answer(cached, req)));
    assert.deepEqual(together, oneAtATime);
  }
  assert.deepEqual(await Promise.all(requests.map((req) => answer(uncached, req))), oneAtATime);
});
