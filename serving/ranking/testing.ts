// Test support: the serving read side over real Redis, as the serving role builds it, without caches
// (cacheMs 0), so a test sees what the projections just wrote.
import type { Redis } from "ioredis";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import { ArtifactReader } from "../models/artifact-store.ts";
import { RedisReadModel } from "./redis-read-model.ts";

export function uncachedReadSide(
  redis: Redis,
  prefix: string,
): { features: FeaturesReader; readModel: RedisReadModel } {
  const features = new FeaturesReader(redis, prefix);
  const readModel = new RedisReadModel({
    features,
    recommendations: new RecommendationsReader(redis, prefix),
    artifacts: new ArtifactReader(redis, prefix),
    cacheMs: 0,
  });
  return { features, readModel };
}
