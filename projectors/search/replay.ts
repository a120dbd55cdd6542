import type { Database } from "../../core/postgres/database.ts";
import { countLogAfter, readLogBatch, toLogPosition } from "../../core/event-store/log-reader.ts";
import {
  compareLogPositions,
  formatPositionToken,
  LOG_START,
  type LogPosition,
} from "../../core/contracts/position.ts";
import { appliedField, REPLAY_SOURCE } from "../../core/read-models/keys.ts";
import { logger } from "../../core/logger.ts";
import { replayProgressBar } from "../runtime/replay-progress.ts";
import {
  appliedPosition,
  applyGuarded,
  currentVersion,
  ensurePointer,
  type SqlReadModel,
} from "./sql-projection.ts";

export interface SqlReplayOptions {
  db: Database;
  model: SqlReadModel;
  /** The live events topic and its partition count: the new version takes over its applied positions. */
  topic: string;
  partitions: number;
  from?: LogPosition;
  batchSize?: number;
  progress?: boolean;
}

export interface SqlReplayResult {
  projection: string;
  previousVersion: number;
  version: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  position: string;
  deletedRows: number;
}

/**
 * Rebuilds a Postgres read model from the log into version N+1 beside the live N, then switches readers and the
 * live consumer to it and deletes N. The switch happens in one transaction holding the version pointer FOR
 * UPDATE (live batches hold it FOR SHARE, so none is in flight), and only once the rebuild has passed every
 * position the live consumer applied to N; the new version then takes the rebuild's position as applied for
 * every live partition, so the live consumer goes on from there without applying anything twice.
 */
export async function replaySqlReadModel(options: SqlReplayOptions): Promise<SqlReplayResult> {
  const { db, model, topic, partitions } = options;
  const batchSize = options.batchSize ?? 2000;
  await ensurePointer(db, model.name);
  const previousVersion = await currentVersion(db, model.name);
  const version = previousVersion + 1;
  // A rebuild that died earlier may have left rows of this version behind.
  await db.transaction(async (tx) => {
    await model.deleteVersion(tx, version);
    await tx.query(`DELETE FROM catalog_read_applied WHERE projection = $1 AND version = $2`, [
      model.name,
      version,
    ]);
  });
  let position = options.from ?? LOG_START;
  let total = await countLogAfter(db, position);
  const bar = replayProgressBar(`${model.name} v${version}`, options.progress);
  bar?.start(total, 0, { rate: 0 });
  const started = Date.now();
  let events = 0;
  const sources = Array.from({ length: partitions }, (_, p) => appliedField(topic, p));
  for (;;) {
    const batch = await readLogBatch(db, position, batchSize);
    if (batch.length > 0) {
      await applyGuarded(db, model, REPLAY_SOURCE, batch, version);
      position = toLogPosition(batch[batch.length - 1]!);
      events += batch.length;
      total = Math.max(total, events);
      bar?.setTotal(total);
      bar?.update(events, { rate: Math.round(events / Math.max((Date.now() - started) / 1000, 0.001)) });
    }
    if (batch.length < batchSize) {
      if (await trySwitch(db, model.name, previousVersion, version, position, sources)) break;
      await new Promise((r) => setTimeout(r, 20)); // the live consumer is ahead: let the log show what it applied
    }
  }
  bar?.stop();
  const deletedRows = await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM catalog_read_applied WHERE projection = $1 AND version = $2`, [
      model.name,
      previousVersion,
    ]);
    return model.deleteVersion(tx, previousVersion);
  });
  const seconds = (Date.now() - started) / 1000;
  const result: SqlReplayResult = {
    projection: model.name,
    previousVersion,
    version,
    events,
    seconds,
    eventsPerSecond: Math.round(events / Math.max(seconds, 0.001)),
    position: formatPositionToken(position),
    deletedRows,
  };
  logger.info(result, "replay finished; readers switched to the new version");
  return result;
}

/** Moves the pointer to `version` unless the live consumer applied past `position` (then: replay further). */
async function trySwitch(
  db: Database,
  projection: string,
  previousVersion: number,
  version: number,
  position: LogPosition,
  sources: readonly string[],
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const live = await currentVersion(tx, projection, "FOR UPDATE");
    if (live !== previousVersion)
      throw new Error(
        `replay ${projection}: the live version moved from ${previousVersion} to ${live} (another rebuild?)`,
      );
    for (const source of sources) {
      const applied = await appliedPosition(tx, projection, previousVersion, source);
      if (applied && compareLogPositions(applied, position) > 0) return false;
    }
    for (const source of sources)
      await tx.query(
        `INSERT INTO catalog_read_applied (projection, version, source, transaction_id, position)
         VALUES ($1, $2, $3, $4::numeric, $5)`,
        [projection, version, source, position.transactionId.toString(), position.position],
      );
    await tx.query(`UPDATE catalog_read_versions SET version = $2 WHERE projection = $1`, [
      projection,
      version,
    ]);
    return true;
  });
}
