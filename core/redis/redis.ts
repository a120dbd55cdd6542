import { Redis } from "ioredis";

/**
 * Redis access for online read models. Adapters are picked from the URL (Gorse-style registry) so an in-process
 * stand-in for single-node mode can be registered without touching callers.
 */
type RedisFactory = (url: string) => Redis;
const factories = new Map<string, RedisFactory>();

export function registerRedis(prefixes: string[], factory: RedisFactory): void {
  for (const prefix of prefixes) factories.set(prefix, factory);
}

export function openRedis(url: string): Redis {
  for (const [prefix, factory] of factories) if (url.startsWith(prefix)) return factory(url);
  throw new Error(
    `REDIS_URL: no adapter for "${url.split(":")[0]}:" (known: ${[...factories.keys()].join(", ")})`,
  );
}

registerRedis(
  ["redis://", "rediss://"],
  (url) => new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true }),
);
