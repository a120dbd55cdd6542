import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fixedClock } from "../core/clock/clock.ts";
import { openRedis } from "../core/redis/redis.ts";
import { stackEnv } from "../core/testing/stack.ts";
import { FeaturesReader } from "../projectors/features/read.ts";
import { DEFAULT_FEATURES_CONFIG } from "../core/read-models/features-config.ts";
import { RecommendationsReader } from "../projectors/recommendations/read.ts";
import { ArtifactReader } from "../serving/models/artifact-store.ts";
import { loadRanker } from "../serving/models/model-holder.ts";
import { servingConfigFromEnv } from "../serving/ranking/config.ts";
import { rankForUser, type RankingDeps } from "../serving/ranking/rank.ts";
import { RedisReadModel } from "../serving/ranking/redis-read-model.ts";

/**
 * `npx tsx bench/serving-lists.ts SAVED.json OUT.json [AT_MS]`: every answer serving's ranking gives on the serving
 * bench's data set, to compare two checkouts byte for byte (a change meant to be faster must not change a list).
 * SAVED.json is what `MICRO_REUSE=SAVED.json npx tsx bench/serving-inprocess.ts` keeps (the seeded prefix and the
 * ranker); decayed values are read at AT_MS (default 2026-12-01T00:00Z), so
 * two runs see the same numbers. For each of the 2,000 seeded users and 200 unknown ones, with and without a
 * category filter, an exclusion and a larger n: the items (id, score, source) and the ranker's top-50 feature
 * rows. Prints the SHA-256 of the output; OUT.json holds the answers.
 */
const USERS = 2000;

async function main() {
  const [savedPath, outPath, at] = process.argv.slice(2);
  if (!savedPath || !outPath) throw new Error("usage: serving-lists.ts SAVED.json OUT.json [AT_MS]");
  const saved = JSON.parse(readFileSync(savedPath, "utf8")) as {
    prefix: string;
    version: number;
    av: number;
    onnx: string;
  };
  const clock = fixedClock(at ? Number(at) : Date.parse("2026-12-01T00:00:00Z"));
  const redis = openRedis(stackEnv().REDIS_URL);
  try {
    const ranker = await loadRanker(saved.version, Buffer.from(saved.onnx, "base64"), saved.av);
    const config = servingConfigFromEnv({});
    const features = new FeaturesReader(redis, saved.prefix, DEFAULT_FEATURES_CONFIG, undefined, clock);
    const deps: RankingDeps = {
      readModel: new RedisReadModel({
        features,
        recommendations: new RecommendationsReader(redis, saved.prefix),
        artifacts: new ArtifactReader(redis, saved.prefix),
        cacheMs: config.cacheMs,
        catalogCacheMs: config.catalogCacheMs,
        userListCacheEntries: config.userListCacheEntries,
      }),
      features,
      ranker: () => ranker,
      config,
      clock,
    };
    const requests = [
      ...Array.from({ length: USERS }, (_, u) => ({ userId: `u${u}`, n: 10, categories: [], exclude: [] })),
      ...Array.from({ length: 200 }, (_, u) => ({ userId: `new${u}`, n: 10, categories: [], exclude: [] })),
      ...Array.from({ length: 200 }, (_, u) => ({
        userId: `u${u * 7}`,
        n: 25,
        categories: [`c${u % 20}`],
        exclude: [`i${u}`],
      })),
    ];
    const answers: unknown[] = [];
    // Twice over: the second round reads through the in-process caches the first one filled.
    for (let round = 0; round < 2; round++)
      for (const req of requests) {
        const out = await rankForUser(deps, { ...req, explain: true });
        answers.push({ req, items: out.items, model_version: out.model_version, scored: out.scored });
      }
    const json = JSON.stringify(answers);
    writeFileSync(outPath, json);
    console.log(
      JSON.stringify({ answers: answers.length, sha256: createHash("sha256").update(json).digest("hex") }),
    );
  } finally {
    redis.disconnect();
  }
}

await main();
