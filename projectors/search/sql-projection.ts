import type { LogMessage } from "../../core/contracts/log-message.ts";
import { compareLogPositions, type LogPosition } from "../../core/contracts/position.ts";
import type { Database, Queryable } from "../../core/postgres/database.ts";
import { appliedField } from "../../core/read-models/keys.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import type { PartitionBatch, Projection, ProjectionOutcome } from "../runtime/projection.ts";

/**
 * A read model kept in Postgres tables whose rows carry a `version` column: what one projection writes for a
 * run of log messages, inside the transaction the runtime's position guard opens.
 */
export interface SqlReadModel {
  readonly name: string;
  /** Applies `messages` (log order, none applied before in this version) to `version`. */
  apply(tx: Queryable, version: number, messages: readonly LogMessage[]): Promise<void>;
  /** Deletes every row of `version` (a replaced version, or what a dead rebuild left). */
  deleteVersion(tx: Queryable, version: number): Promise<number>;
}

/** The version readers and the live consumer use (1 until a rebuild switches). */
export async function currentVersion(db: Queryable, projection: string, lock = ""): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    `SELECT version FROM catalog_read_versions WHERE projection = $1 ${lock}`,
    [projection],
  );
  return rows[0]?.version ?? 1;
}

export async function appliedPosition(
  db: Queryable,
  projection: string,
  version: number,
  source: string,
  lock = "",
): Promise<LogPosition | undefined> {
  const { rows } = await db.query<{ transaction_id: string; position: number }>(
    `SELECT transaction_id::text AS transaction_id, position FROM catalog_read_applied
      WHERE projection = $1 AND version = $2 AND source = $3 ${lock}`,
    [projection, version, source],
  );
  const row = rows[0];
  return row ? { transactionId: BigInt(row.transaction_id), position: Number(row.position) } : undefined;
}

async function storeApplied(
  tx: Queryable,
  projection: string,
  version: number,
  source: string,
  at: LogPosition,
): Promise<void> {
  await tx.query(
    `INSERT INTO catalog_read_applied (projection, version, source, transaction_id, position)
     VALUES ($1, $2, $3, $4::numeric, $5)
     ON CONFLICT (projection, version, source)
     DO UPDATE SET transaction_id = excluded.transaction_id, position = excluded.position`,
    [projection, version, source, at.transactionId.toString(), at.position],
  );
}

/**
 * Applies messages from one source to a version exactly once in effect: in one transaction, skip what the
 * source's stored position already covers, apply the rest, store the new position. The version pointer is read
 * FOR SHARE, so a rebuild's switch (FOR UPDATE) waits for batches in flight and no batch straddles two versions.
 * `version` pins the version (the rebuild writes its own); by default the pointer's.
 */
export async function applyGuarded(
  db: Database,
  model: SqlReadModel,
  source: string,
  messages: readonly LogMessage[],
  version?: number,
): Promise<void> {
  if (messages.length === 0) return;
  await db.transaction(async (tx) => {
    const live = await currentVersion(tx, model.name, "FOR SHARE");
    const target = version ?? live;
    const applied = await appliedPosition(tx, model.name, target, source, "FOR UPDATE");
    const fresh = applied
      ? messages.filter((m) => compareLogPositions(toLogPosition(m), applied) > 0)
      : messages;
    if (fresh.length === 0) return;
    await model.apply(tx, target, fresh);
    await storeApplied(tx, model.name, target, source, toLogPosition(fresh[fresh.length - 1]!));
  });
}

/** A `SqlReadModel` as a projection of the runtime (Kafka today, any log transport that speaks `Projection`). */
export function createSqlProjection(db: Database, model: SqlReadModel): Projection {
  return {
    name: model.name,
    async apply(batch: PartitionBatch): Promise<ProjectionOutcome[]> {
      await ensurePointer(db, model.name);
      const messages = batch.messages.map((m) => m.message);
      await applyGuarded(db, model, appliedField(batch.topic, batch.partition), messages);
      return messages.map(() => ({ kind: "ok" }));
    },
    healthy: async () => {
      await db.query("SELECT 1");
      return true;
    },
    async appliedPosition(topic: string, partition: number) {
      const version = await currentVersion(db, model.name);
      return appliedPosition(db, model.name, version, appliedField(topic, partition));
    },
  };
}

const pointers = new WeakMap<Database, Set<string>>();
/** The pointer row exists before any batch, so FOR SHARE / FOR UPDATE always have a row to lock. */
async function ensurePointer(db: Database, projection: string): Promise<void> {
  let known = pointers.get(db);
  if (!known) pointers.set(db, (known = new Set()));
  if (known.has(projection)) return;
  await db.query(
    `INSERT INTO catalog_read_versions (projection, version) VALUES ($1, 1) ON CONFLICT (projection) DO NOTHING`,
    [projection],
  );
  known.add(projection);
}
export { ensurePointer };
