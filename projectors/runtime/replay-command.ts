import type { Env } from "../../core/config/env.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { openRedis } from "../../core/redis/redis.ts";
import { parsePositionToken, POSITION_TOKEN_RULE } from "../../core/contracts/position.ts";
import { REDIS_PROJECTIONS, redisKeyPrefix } from "../role.ts";
import { replayProjection, type ReplayResult } from "./replay.ts";

/** `reckon replay --projection NAME [--from POSITION]`. */
export async function runReplayCommand(
  env: Env,
  opts: { projection: string; from?: string },
): Promise<ReplayResult> {
  const create = REDIS_PROJECTIONS[opts.projection];
  if (!create) {
    throw new Error(
      `--projection: unknown projection "${opts.projection}" (known: ${Object.keys(REDIS_PROJECTIONS).join(", ")})`,
    );
  }
  const from = opts.from === undefined ? undefined : parsePositionToken(opts.from);
  if (opts.from !== undefined && !from)
    throw new Error(`--from ${POSITION_TOKEN_RULE} (received "${opts.from}")`);
  if (!env.REDIS_URL) throw new Error("REDIS_URL is required by reckon replay");
  const db = openDatabase(env.DATABASE_URL);
  const redis = openRedis(env.REDIS_URL);
  try {
    await migrate(db);
    return await replayProjection({
      db,
      projection: create(redis, redisKeyPrefix()),
      topic: env.KAFKA_EVENTS_TOPIC,
      partitions: env.KAFKA_PARTITIONS,
      ...(from ? { from } : {}),
      progress: process.stderr.isTTY,
    });
  } finally {
    redis.disconnect();
    await db.close();
  }
}
