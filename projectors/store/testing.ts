import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { clusterUrl } from "../../core/redis/redis.ts";
import { stackEnv, stackRedisClusterNodes, uniqueName } from "../../core/testing/stack.ts";
import { openProjectionStore } from "./open.ts";

/**
 * The projection stores the conformance specs run on, each opened by URL the way the app opens them: the stack's
 * single Redis and Redis Cluster (neither optional: a missing cluster fails), and the in-process store on a
 * fresh data dir. `place()` names where one test's data lives: a key prefix's home on Redis, a directory for the
 * in-process store; `open(place)` may be called again on the same place (a restart).
 */
export interface TestStoreBackend {
  name: string;
  /** The URL scheme that selects it. */
  scheme: string;
  place(): string;
  open(place: string): Promise<ProjectionStore>;
  /** Removes what `place()` created outside the keys (the in-process store's directory). */
  cleanUp(place: string): void;
}

const redisBackend = (name: string, url: () => string): TestStoreBackend => ({
  name,
  scheme: name === "Redis Cluster" ? "redis-cluster://" : "redis://",
  place: url,
  open: (place) => openProjectionStore(place),
  cleanUp: () => undefined,
});

export const PROJECTION_STORES: readonly TestStoreBackend[] = [
  redisBackend("single Redis", () => stackEnv().REDIS_URL),
  redisBackend("Redis Cluster", () => clusterUrl(stackRedisClusterNodes())),
  {
    name: "in-process",
    scheme: "memory://",
    place: () => `memory://${mkdtempSync(path.join(tmpdir(), "reckon-store-"))}`,
    open: (place) => openProjectionStore(place),
    cleanUp: (place) => rmSync(place.slice("memory://".length), { recursive: true, force: true }),
  },
];

/**
 * One store for a describe block: opened at first use; after(), the keys under the prefixes it handed out are
 * deleted and the store closed (and the in-process store's directory removed).
 */
export function storeForSuite(backend: TestStoreBackend) {
  const place = backend.place();
  const prefixes: string[] = [];
  let opened: Promise<ProjectionStore> | undefined;
  return {
    store: () => (opened ??= backend.open(place)),
    /** A fresh key prefix, cleaned up after the suite. */
    prefix(name: string): string {
      const prefix = uniqueName(name);
      prefixes.push(prefix);
      return prefix;
    },
    async cleanUp(): Promise<void> {
      if (opened) {
        const store = await opened;
        for (const p of prefixes) await store.deleteByPrefix(`${p}:`);
        await store.close();
      }
      backend.cleanUp(place);
    },
  };
}
