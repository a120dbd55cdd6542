import type { Redis } from "ioredis";
import { randomUUID } from "node:crypto";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { versionBase } from "./keys.ts";

/**
 * Test helpers: a canonical dump of one projection version (relative key → type and content, sorted) so that
 * two runs on different key prefixes can be compared for equality, and LogMessage builders.
 */
export async function dumpVersion(
  redis: Redis,
  prefix: string,
  ns: string,
  version: number,
): Promise<Record<string, unknown>> {
  const base = versionBase(prefix, ns, version);
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${base}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const type = await redis.type(key);
    const relative = key.slice(base.length);
    if (type === "zset") out[relative] = await redis.zrangebyscore(key, "-inf", "+inf", "WITHSCORES");
    else if (type === "hash")
      out[relative] = Object.fromEntries(Object.entries(await redis.hgetall(key)).sort());
    else if (type === "string") out[relative] = await redis.get(key);
    else out[relative] = `<${type}>`;
  }
  return out;
}

let nextPosition = 1;

export function interaction(
  user: string,
  item: string | undefined,
  type: string,
  timestamp: string,
  position = nextPosition++,
): LogMessage {
  return {
    kind: "interaction",
    position,
    transaction_id: String(1000 + position),
    received_at: timestamp,
    event: {
      event_id: randomUUID(),
      type,
      user_id: user,
      ...(item !== undefined ? { item_id: item } : {}),
      timestamp,
      ...(type === "rating" ? { value: 4 } : {}),
    },
  };
}

export function catalog(
  item: string,
  categories: string[],
  version: number,
  position = nextPosition++,
  { available = true, updatedAt = new Date() }: { available?: boolean; updatedAt?: Date } = {},
): LogMessage {
  const at = updatedAt.toISOString();
  return {
    kind: "catalog",
    position,
    transaction_id: String(1000 + position),
    received_at: at,
    event: {
      event_id: randomUUID(),
      type: "item_changed",
      item_id: item,
      timestamp: at,
      item: { item_id: item, version, categories, attributes: {}, available, updated_at: at },
    },
  };
}
