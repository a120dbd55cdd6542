import { Cluster, Redis } from "ioredis";

/**
 * Redis access for online read models. Adapters are picked from the URL (Gorse-style registry) so an in-process
 * stand-in for single-node mode can be registered without touching callers.
 *
 * `redis://host:port` (or `rediss://`) opens one node; `redis-cluster://host:port,host:port,...` opens a Redis
 * Cluster from those seed nodes (it discovers the rest). Code that works on both takes a `RedisClient`; code
 * that needs one node (multi-key commands across entities) keeps taking `Redis`.
 */
export type RedisClient = Redis | Cluster;

export const isCluster = (client: RedisClient): client is Cluster => client.isCluster;

type RedisFactory = (url: string) => RedisClient;
const factories = new Map<string, RedisFactory>();

export function registerRedis(prefixes: string[], factory: RedisFactory): void {
  for (const prefix of prefixes) factories.set(prefix, factory);
}

/** A single node or a cluster, whichever the URL names. */
export function openRedisClient(url: string): RedisClient {
  for (const [prefix, factory] of factories) if (url.startsWith(prefix)) return factory(url);
  throw new Error(
    `REDIS_URL: no adapter for "${url.split(":")[0]}:" (known: ${[...factories.keys()].join(", ")})`,
  );
}

/** A single node, refusing a cluster URL: for tools that measure the single-node path (bench/). */
export function openRedis(url: string): Redis {
  const client = openRedisClient(url);
  if (isCluster(client)) {
    client.disconnect();
    throw new Error(`REDIS_URL: ${url.split(":")[0]}: is a Redis Cluster; this command needs a single node`);
  }
  return client;
}

/** `redis-cluster://[user:password@]host:port,host:port[/]` → seed nodes and credentials. */
export function parseClusterUrl(url: string): {
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
} {
  const rest = url.replace(/^redis-cluster:\/\//, "").replace(/[/?].*$/, "");
  const at = rest.lastIndexOf("@");
  const auth = at >= 0 ? rest.slice(0, at) : "";
  const nodes = (at >= 0 ? rest.slice(at + 1) : rest).split(",").map((hostPort) => {
    const colon = hostPort.lastIndexOf(":");
    const port = colon >= 0 ? Number(hostPort.slice(colon + 1)) : 6379;
    if (!Number.isInteger(port) || port <= 0 || port > 65535)
      throw new Error(`REDIS_URL: bad cluster node "${hostPort}"`);
    return { host: colon >= 0 ? hostPort.slice(0, colon) : hostPort, port };
  });
  if (nodes.length === 0 || nodes.some((n) => n.host === ""))
    throw new Error(`REDIS_URL: no cluster nodes in "${url}"`);
  const colon = auth.indexOf(":");
  const username = colon >= 0 ? decodeURIComponent(auth.slice(0, colon)) : "";
  const password = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth);
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

registerRedis(
  ["redis://", "rediss://"],
  (url) => new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: true }),
);

registerRedis(["redis-cluster://"], (url) => {
  const { nodes, username, password } = parseClusterUrl(url);
  return new Cluster(nodes, {
    // Off on a cluster: ioredis picks an auto-pipeline's slot from a command's first argument, which for a script
    // with a variable key count (the per-slot batch scripts) is the count, not a key. Pipelines then mix slots,
    // and a failed one answers its callbacks with no results: an uncaught "results[i] is not iterable"
    // (redis/ioredis#1931, #2109; seen after the runtime spec in CI). Commands still pipeline per connection.
    enableAutoPipelining: false,
    redisOptions: {
      maxRetriesPerRequest: 3,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
    },
  });
});

/** The stack's cluster nodes (`REDIS_CLUSTER_NODES=h:p,h:p`) as a `redis-cluster://` URL. */
export const clusterUrl = (nodes: string) => `redis-cluster://${nodes}`;

/**
 * `client.defineCommand`, kept out of auto-pipelining: ioredis can answer an auto-pipelined custom script's
 * callbacks with fewer results than commands (redis/ioredis#1931), which throws an uncaught
 * "results[i] is not iterable". A script is one round trip on its own anyway.
 */
export function defineScript(
  client: RedisClient,
  name: string,
  definition: { lua: string; numberOfKeys?: number },
): void {
  client.defineCommand(name, definition);
  const ignored = client.options.autoPipeliningIgnoredCommands;
  if (ignored && !ignored.includes(name)) ignored.push(name);
}
