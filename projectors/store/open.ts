import { isCluster, openRedisClient, type RedisClient } from "../../core/redis/redis.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { ClusterRedisStore, SingleRedisStore } from "./redis-store.ts";
import { MemoryProjectionStore } from "./memory-store.ts";
import path from "node:path";

/**
 * The one place a projection store adapter is chosen, by URL (the same registry shape as core/redis/redis.ts
 * and core/clickhouse/open.ts): `redis://` / `rediss://` a single Redis, `redis-cluster://h:p,h:p` a Redis
 * Cluster, `memory://DIR` the in-process store keeping its data in DIR (relative to the working directory;
 * `memory://` alone: `.reckon/data/projections`).
 */
type Opener = (url: string) => Promise<ProjectionStore>;
const openers = new Map<string, Opener>();

export function registerProjectionStore(prefixes: readonly string[], opener: Opener): void {
  for (const prefix of prefixes) openers.set(prefix, opener);
}

/** Opens the store `url` names (REDIS_URL). */
export async function openProjectionStore(url: string): Promise<ProjectionStore> {
  for (const [prefix, opener] of openers) if (url.startsWith(prefix)) return opener(url);
  throw new Error(
    `REDIS_URL: no projection store for "${url.split(":")[0]}:" (known: ${[...openers.keys()].join(", ")})`,
  );
}

const onClient = new WeakMap<RedisClient, ProjectionStore>();

/** The store over an open ioredis client (one per client: tests and tools that already hold one). */
export function projectionStoreOn(client: RedisClient): ProjectionStore {
  let store = onClient.get(client);
  if (store === undefined) {
    store = isCluster(client) ? new ClusterRedisStore(client) : new SingleRedisStore(client);
    onClient.set(client, store);
  }
  return store;
}

/** A store as it is, or the store over an ioredis client. */
export const asProjectionStore = (source: ProjectionStore | RedisClient): ProjectionStore =>
  "applyOps" in source ? source : projectionStoreOn(source);

registerProjectionStore(["redis://", "rediss://", "redis-cluster://"], async (url) =>
  projectionStoreOn(openRedisClient(url)),
);

/** A readiness check: throws when the store does not answer. */
export async function assertHealthy(store: ProjectionStore): Promise<void> {
  if (!(await store.healthy())) throw new Error(`the projection store (${store.kind}) does not answer`);
}

/** Where `memory://` keeps its data when the URL names no directory. */
export const DEFAULT_MEMORY_STORE_DIR = path.join(".reckon", "data", "projections");

registerProjectionStore(["memory://"], (url) =>
  MemoryProjectionStore.open({
    dataDir: path.resolve(url.slice("memory://".length) || DEFAULT_MEMORY_STORE_DIR),
  }),
);
