import type { Database, Queryable } from "../../core/postgres/database.ts";

/** NOTIFY channel an erasure signals on, so projectors pick up the new suppression records at once. */
export const ERASURES_CHANNEL = "reckon_erasures";

/** How long an erasure waits for transactions older than itself before it gives up (they are rare and short). */
const OLDER_TRANSACTIONS_TIMEOUT_MS = 30_000;

/**
 * Deletes the users' interaction events from the log and records (or renews) their suppression record, in one
 * transaction. Rows are deleted, not crypto-shredded: the log is the outbox and every projection's replay
 * source, so a replay or a relay restart reading it can only see what is still there.
 *
 * Only events of transactions older than the erasure are erased (the suppression record's `before_xid`), the
 * same rule the projectors apply to what is still on the Kafka topic. A transaction older than the erasure may
 * still be running and commit the user's events after the DELETE: the erasure waits until every older
 * transaction has ended (`pg_snapshot_xmin` past its own id) and deletes once more.
 *
 * Returns the events deleted per user (users with none are absent).
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
  await waitForOlderTransactions(db, xid);
  add(await deleteOlderEvents(db, userIds, xid));
  return counts;
}

async function deleteOlderEvents(db: Queryable, userIds: readonly string[], xid: string) {
  const { rows } = await db.query<{ user_id: string; n: number }>(
    `WITH gone AS (
       DELETE FROM events
        WHERE kind = 'interaction' AND user_id = ANY($1::text[]) AND transaction_id < $2::text::xid8
       RETURNING user_id)
     SELECT user_id, count(*)::int AS n FROM gone GROUP BY user_id`,
    [userIds, xid],
  );
  return rows;
}

async function waitForOlderTransactions(db: Queryable, xid: string): Promise<void> {
  const deadline = Date.now() + OLDER_TRANSACTIONS_TIMEOUT_MS;
  for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 200)) {
    const { rows } = await db.query<{ done: boolean }>(
      "SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::text::xid8 AS done",
      [xid],
    );
    if (rows[0]?.done) return;
    if (Date.now() > deadline)
      throw new Error(
        `erasure: transactions older than ${xid} are still running after ${OLDER_TRANSACTIONS_TIMEOUT_MS} ms; ` +
          "the erasure is recorded and will complete when it is repeated",
      );
    await new Promise((r) => setTimeout(r, waitMs));
  }
}

/** The suppression records: user id → the erasing transaction's id (events of older transactions are erased). */
export async function readErasures(db: Queryable): Promise<Map<string, bigint>> {
  const { rows } = await db.query<{ user_id: string; before_xid: string }>(
    "SELECT user_id, before_xid::text AS before_xid FROM user_erasures",
  );
  return new Map(rows.map((r) => [r.user_id, BigInt(r.before_xid)]));
}
