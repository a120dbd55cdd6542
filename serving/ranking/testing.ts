// Test support: the serving read side over real Redis (a single node or a cluster), as the serving role builds
// it, without caches (cacheMs 0), so a test sees what the projections just wrote; listing and deleting a test's
// keys on every node.
import { isCluster, type RedisClient } from "../../core/redis/redis.ts";
import { FeaturesReader } from "../../projectors/features/read.ts";
import { RecommendationsReader } from "../../projectors/recommendations/read.ts";
import { ArtifactReader } from "../models/artifact-store.ts";
import { RedisReadModel } from "./redis-read-model.ts";

export function uncachedReadSide(
  redis: RedisClient,
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

/** Every key matching `pattern`, sorted; on a cluster each master is scanned (KEYS and SCAN see one node). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of isCluster(redis) ? redis.nodes("master") : [redis]) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== "0");
  }
  return keys.sort();
}

/** Deletes every key matching `pattern` (key by key: a multi-key DEL cannot cross a cluster's slots). */
export async function deleteMatching(redis: RedisClient, pattern: string): Promise<void> {
  await Promise.all((await keysMatching(redis, pattern)).map((k) => redis.unlink(k)));
}
