import type { Database, Queryable } from "../../core/postgres/database.ts";

/** NOTIFY channel an erasure signals on, so projectors pick up the new suppression records at once. */
export const ERASURES_CHANNEL = "reckon_erasures";

/** How long an erasure waits for event writers older than itself (ingest transactions are short). */
const OLDER_WRITERS_TIMEOUT_MS = 10_000;

/**
 * Deletes the users' entries from the log (every kind that names a user: interactions, the retractions that
 * carry a copy of one, the lists served to them) and records (or renews) their suppression record, in one
 * transaction. Rows are deleted, not crypto-shredded: the log is the outbox and every projection's replay
 * source, so a replay or a relay restart reading it can only see what is still there.
 *
 * Only events of transactions older than the erasure are erased (the suppression record's `before_xid`), the
 * same rule the projectors apply to what is still on the Kafka topic. An ingest transaction older than the
 * erasure may still be running and commit the user's events after the DELETE: the erasure waits until every
 * such writer has ended and deletes once more.
 *
 * Returns the log entries deleted per user (users with none are absent).
 */
export async function erasePostgresEvents(
  db: Database,
  userIds: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const add = (rows: { user_id: string; n: number }[]) => {
    for (const r of rows) counts.set(r.user_id, (counts.get(r.user_id) ?? 0) + Number(r.n));
  };
  const xid = await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ xid: string }>(
      `INSERT INTO user_erasures (user_id, before_xid)
       SELECT u, pg_current_xact_id() FROM unnest($1::text[]) AS u
       ON CONFLICT (user_id) DO UPDATE
         SET before_xid = EXCLUDED.before_xid, erased_at = now(), erasures = user_erasures.erasures + 1
       RETURNING before_xid::text AS xid`,
      [userIds],
    );
    const erasureXid = rows[0]!.xid;
    add(await deleteOlderEvents(tx, userIds, erasureXid));
    await tx.query("SELECT pg_notify($1, '')", [ERASURES_CHANNEL]);
    return erasureXid;
  });
  await waitForOlderWriters(db);
  add(await deleteOlderEvents(db, userIds, xid));
  return counts;
}

async function deleteOlderEvents(db: Queryable, userIds: readonly string[], xid: string) {
  const { rows } = await db.query<{ user_id: string; n: number }>(
    `WITH gone AS (
       DELETE FROM events
        WHERE user_id = ANY($1::text[]) AND transaction_id < $2::text::xid8
       RETURNING user_id)
     SELECT user_id, count(*)::int AS n FROM gone GROUP BY user_id`,
    [userIds, xid],
  );
  return rows;
}

/**
 * Waits until every transaction that was writing to `events` when it was called has ended. Taking SHARE on the
 * table waits for the writers holding ROW EXCLUSIVE (an interaction writer's first write is its insert, so one
 * older than the erasure already holds it) and is released at once, so ingest pauses only for that wait,
 * unlike waiting for `pg_snapshot_xmin`, which any long transaction anywhere in the cluster holds back.
 */
async function waitForOlderWriters(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL lock_timeout = '${OLDER_WRITERS_TIMEOUT_MS}ms'`);
    try {
      await tx.query("LOCK TABLE events IN SHARE MODE");
    } catch (err) {
      throw new Error(
        `erasure: a transaction writing events did not end within ${OLDER_WRITERS_TIMEOUT_MS} ms; the erasure ` +
          "is recorded and completes when it is repeated",
        { cause: err },
      );
    }
  });
}

/** The suppression records: user id → the erasing transaction's id (events of older transactions are erased). */
export async function readErasures(db: Queryable): Promise<Map<string, bigint>> {
  const { rows } = await db.query<{ user_id: string; before_xid: string }>(
    "SELECT user_id, before_xid::text AS before_xid FROM user_erasures",
  );
  return new Map(rows.map((r) => [r.user_id, BigInt(r.before_xid)]));
}
