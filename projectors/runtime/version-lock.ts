import type { Database, Queryable } from "../../core/postgres/database.ts";

/**
 * The lock that keeps the commands changing a projection's versions apart: `reckon switch` (pins readers to a
 * checkpoint) and a replay (`reckon replay`, a self-rebuild), which starts by deleting every checkpoint not
 * pinned. Without it a switch could pin a checkpoint the replay had just found unpinned and then deletes.
 *
 * A Postgres advisory lock per projection, held by a transaction (released however the command ends, also when
 * its process dies), in the database of the log: every process of an installation shares it. The holder names
 * itself in the transaction's application_name, so the one refused can say what holds the projection.
 */

/** The first key of the projection locks (the second is the projection's name hashed). */
const LOCK_CLASS = 170_170;
const PROJECTION_KEY = "hashtext($2) & 2147483647";

/** Another command holds the projection's versions: which projection, what was refused, what holds it. */
export class ProjectionVersionsBusy extends Error {
  constructor(
    readonly projection: string,
    readonly command: string,
    readonly holder: string,
  ) {
    super(
      `${command} --projection ${projection}: refused, ${holder} is changing the versions of ${projection}; ` +
        `run it again once that has finished`,
    );
    this.name = "ProjectionVersionsBusy";
  }
}

/**
 * Runs `work` in a transaction holding `projection`'s versions lock; `command` (e.g. "reckon replay") is what
 * another command refused meanwhile is told holds it. Waits up to `waitMs` for a holder to finish, then throws
 * ProjectionVersionsBusy naming it.
 */
export async function withProjectionVersionsLock<T>(
  db: Pick<Database, "transaction" | "query">,
  projection: string,
  command: string,
  waitMs: number,
  work: (tx: Queryable) => Promise<T>,
): Promise<T> {
  let busy = false;
  try {
    return await db.transaction(async (tx) => {
      await tx.query(
        "SELECT set_config('lock_timeout', $1, true), set_config('application_name', $2, true)",
        [`${Math.max(1, Math.round(waitMs))}ms`, `${command} --projection ${projection}`],
      );
      try {
        await tx.query(`SELECT pg_advisory_xact_lock($1, ${PROJECTION_KEY})`, [LOCK_CLASS, projection]);
      } catch (error) {
        busy = (error as { code?: string }).code === "55P03"; // lock_not_available: lock_timeout passed
        throw error;
      }
      // The wait is over: the command's own statements run without that timeout.
      await tx.query("SELECT set_config('lock_timeout', '0', true)");
      return await work(tx);
    });
  } catch (error) {
    if (busy) throw new ProjectionVersionsBusy(projection, command, await holderOf(db, projection));
    throw error;
  }
}

/** Who holds `projection`'s versions lock, as the refusal tells it. */
async function holderOf(db: Queryable, projection: string): Promise<string> {
  const { rows } = await db.query<{ pid: number; application_name: string; xact_start: Date | null }>(
    `SELECT a.pid, a.application_name, a.xact_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::int::oid AND l.objid = (${PROJECTION_KEY})::oid AND l.objsubid = 2`,
    [LOCK_CLASS, projection],
  );
  const holder = rows[0];
  if (holder === undefined) return "another command (it finished meanwhile)";
  const since = holder.xact_start ? `, since ${new Date(holder.xact_start).toISOString()}` : "";
  return `${holder.application_name || "another command"} (Postgres backend ${holder.pid}${since})`;
}
