import type { Queryable } from "./database.ts";
import { LOG_START, type LogPosition } from "../contracts/position.ts";

/** Durable log positions of log readers (the relay, log-based rebuilds), by name. */
export async function loadCheckpoint(db: Queryable, name: string): Promise<LogPosition> {
  const { rows } = await db.query<{ transaction_id: string; position: number }>(
    "SELECT transaction_id::text, position FROM checkpoints WHERE name = $1",
    [name],
  );
  const row = rows[0];
  return row ? { transactionId: BigInt(row.transaction_id), position: row.position } : LOG_START;
}

/**
 * Compare-and-set: moves `name` from `expected` to `next`. Returns false when another reader moved it meanwhile
 * (the caller reloads and carries on; it never moves a checkpoint backwards or over someone else's progress).
 */
export async function storeCheckpoint(
  db: Queryable,
  name: string,
  expected: LogPosition,
  next: LogPosition,
): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO checkpoints (name, transaction_id, position, updated_at)
     VALUES ($1, $4::text::xid8, $5, now())
     ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,
       updated_at = now()
       WHERE checkpoints.transaction_id = $2::text::xid8 AND checkpoints.position = $3
     RETURNING name`,
    [
      name,
      expected.transactionId.toString(),
      expected.position,
      next.transactionId.toString(),
      next.position,
    ],
  );
  return rows.length === 1;
}
