import type { Env } from "../../core/config/env.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { openProjectionStore } from "../store/open.ts";
import {
  compareLogPositions,
  parsePositionToken,
  POSITION_TOKEN_RULE,
} from "../../core/contracts/position.ts";
import { REDIS_PROJECTIONS } from "../role.ts";
import { openClickHouse } from "../../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { logger } from "../../core/logger.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";
import { auditedRun, cliActor } from "../../core/audit/audit-command.ts";
import { ANALYTICS_PROJECTION_NAME } from "../analytics/projection.ts";
import { replayAnalytics, type AnalyticsReplayResult } from "../analytics/replay.ts";
import { replayProjection, type ReplayResult } from "./replay.ts";
import { catalogReadModels, replaySqlReadModel, type SqlReplayResult } from "../search/index.ts";
import { featuresConfig } from "../../core/read-models/features-config.ts";

type ReplayCommandResult = ReplayResult | SqlReplayResult | (AnalyticsReplayResult & { clickhouse: string });
type ReplayOptions = { projection: string; from?: string; to?: string };

/**
 * `reckon replay --projection NAME [--from POSITION] [--to POSITION]`, audited as `projection.replay` by
 * `cli:<user>`: refused for arguments it cannot use, else ok or failed with what the rebuild did (versions,
 * events, switch).
 */
export async function runReplayCommand(env: Env, opts: ReplayOptions): Promise<ReplayCommandResult> {
  const audit = { actor: cliActor(), action: "projection.replay", target: opts.projection };
  const refusal = replayArgumentsRefusal(env, opts);
  const db = openDatabase(env.DATABASE_URL);
  try {
    await migrate(db);
    if (refusal) {
      await recordAudit(db, { ...audit, outcome: "refused", details: { reason: refusal } });
      throw new Error(refusal);
    }
    return await auditedRun(
      db,
      audit,
      () => replay(env, opts),
      (result) => ({
        ...result,
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.to ? { to: opts.to } : {}),
      }),
    );
  } finally {
    await db.close();
  }
}

function replayArgumentsRefusal(env: Env, opts: ReplayOptions): string | undefined {
  const catalog = catalogReadModels(featuresConfig(env));
  const known = [...Object.keys(REDIS_PROJECTIONS), ANALYTICS_PROJECTION_NAME, ...Object.keys(catalog)];
  if (!known.includes(opts.projection))
    return `--projection: unknown projection "${opts.projection}" (known: ${known.join(", ")})`;
  const from = opts.from === undefined ? undefined : parsePositionToken(opts.from);
  if (opts.from !== undefined && !from) return `--from ${POSITION_TOKEN_RULE} (received "${opts.from}")`;
  const to = opts.to === undefined ? undefined : parsePositionToken(opts.to);
  if (opts.to !== undefined && !to) return `--to ${POSITION_TOKEN_RULE} (received "${opts.to}")`;
  if (from && to && compareLogPositions(to, from) <= 0)
    return `--to must come after --from (received --from ${opts.from} --to ${opts.to})`;
  if (to && catalog[opts.projection])
    return (
      `--to: the ${opts.projection} read model rebuilds to the log head only (received --to ${opts.to}); ` +
      `features, recommendations and analytics rebuild to a past position`
    );
  return undefined;
}

async function replay(env: Env, opts: ReplayOptions): Promise<ReplayCommandResult> {
  const catalog = catalogReadModels(featuresConfig(env));
  const from = opts.from === undefined ? undefined : parsePositionToken(opts.from);
  const to = opts.to === undefined ? undefined : parsePositionToken(opts.to);
  if (opts.projection === ANALYTICS_PROJECTION_NAME) {
    const db = openDatabase(env.DATABASE_URL);
    const { store, via } = await openReplayClickHouse(env);
    logger.info({ clickhouse: via }, "replay analytics: ClickHouse reached");
    try {
      await migrate(db);
      const result = await replayAnalytics({
        db,
        clickhouse: store,
        topic: env.KAFKA_EVENTS_TOPIC,
        partitions: env.KAFKA_PARTITIONS,
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        progress: process.stderr.isTTY,
      });
      return { ...result, clickhouse: via };
    } finally {
      await store.close();
      await db.close();
    }
  }
  const sqlModel = catalog[opts.projection];
  if (sqlModel) {
    // The catalog read models live in Postgres beside the log: no other store to open.
    const db = openDatabase(env.DATABASE_URL);
    try {
      await migrate(db);
      return await replaySqlReadModel({
        db,
        model: sqlModel,
        topic: env.KAFKA_EVENTS_TOPIC,
        partitions: env.KAFKA_PARTITIONS,
        ...(from ? { from } : {}),
        progress: process.stderr.isTTY,
      });
    } finally {
      await db.close();
    }
  }
  const create = REDIS_PROJECTIONS[opts.projection]!;
  if (!env.REDIS_URL) throw new Error("REDIS_URL is required by reckon replay");
  const db = openDatabase(env.DATABASE_URL);
  const store = await openProjectionStore(env.REDIS_URL);
  try {
    await migrate(db);
    return await replayProjection({
      db,
      projection: create(store, env, db),
      topic: env.KAFKA_EVENTS_TOPIC,
      partitions: env.KAFKA_PARTITIONS,
      ...(from ? { from } : {}),
      ...(to ? { to } : {}),
      progress: process.stderr.isTTY,
    });
  } finally {
    await store.close();
    await db.close();
  }
}

/**
 * chdb binds its data directory to one process, so while `npm start` runs with the in-process engine this
 * process cannot open it: CLICKHOUSE_URL when set, else the running Reckon's ClickHouse-compatible HTTP
 * endpoint, else (nothing running) the in-process engine on the default data directory.
 */
export async function openReplayClickHouse(
  env: Pick<Env, "CLICKHOUSE_URL" | "CLICKHOUSE_HTTP_PORT">,
): Promise<{ store: ClickHouseStore; via: string }> {
  if (env.CLICKHOUSE_URL) {
    const shown = env.CLICKHOUSE_URL.replace(/\/\/[^/@]*@/, "//***@");
    return { store: await openClickHouse(env.CLICKHOUSE_URL), via: `CLICKHOUSE_URL ${shown}` };
  }
  // A running Reckon owns the in-process engine's directory, and its HTTP endpoint is read-only for analysts:
  // a rebuild from here could write neither, so it is refused with what to do instead.
  const endpoint = `http://127.0.0.1:${env.CLICKHOUSE_HTTP_PORT}`;
  const http = await openClickHouse(endpoint, { requestTimeoutMs: 5_000 });
  const running = await http.ping().catch(() => false);
  await http.close();
  if (running)
    throw new Error(
      `reckon replay --projection analytics: a running Reckon holds the in-process ClickHouse (its read-only ` +
        `endpoint answers on ${endpoint}). Stop it and run the replay again, or set CLICKHOUSE_URL to a ` +
        `ClickHouse server; a running Reckon rebuilds analytics tables it finds wiped by itself.`,
    );
  return {
    store: await openClickHouse(undefined),
    via: `in-process chdb (nothing answered on ${endpoint})`,
  };
}
