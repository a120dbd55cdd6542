import type { Queryable } from "../../core/postgres/database.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { toLogMessage, type LogRow } from "../../core/event-store/log-reader.ts";

/**
 * Each user's interactions and retractions in log order, up to and including the latest retraction of that user
 * among `messages`: what an undo that recomputes a user's entries replays (recommendations/undo.ts,
 * features/user-activity.ts). Only users with a retraction in the batch are read, each bounded by the position of
 * that retraction (rows at or before it are committed: the log was delivered in order up to it), through the
 * `events (user_id, …)` index.
 */
export async function readRetractingUsersLogs(
  db: Queryable,
  messages: readonly LogMessage[],
): Promise<Map<string, LogMessage[]>> {
  const bound = new Map<string, LogMessage>();
  for (const m of messages) if (m.kind === "retraction") bound.set(m.event.user_id, m);
  const logs = new Map<string, LogMessage[]>();
  for (const [user, last] of bound) {
    const { rows } = await db.query<LogRow>(
      `SELECT e.position, e.transaction_id::text AS transaction_id, e.kind, e.received_at, e.payload
         FROM events e
        WHERE e.user_id = $1 AND e.kind IN ('interaction', 'retraction')
          AND (e.transaction_id, e.position) <= ($2::text::xid8, $3::bigint)
        ORDER BY e.transaction_id, e.position`,
      [user, last.transaction_id, last.position],
    );
    logs.set(user, rows.map(toLogMessage));
  }
  return logs;
}

/** The event ids of each user's retractions among `messages`, by user. */
export function retractionsByUser(messages: readonly LogMessage[]): Map<string, Set<string>> {
  const byUser = new Map<string, Set<string>>();
  for (const m of messages)
    if (m.kind === "retraction") {
      const ids = byUser.get(m.event.user_id) ?? new Set<string>();
      ids.add(m.event.event_id);
      byUser.set(m.event.user_id, ids);
    }
  return byUser;
}

/**
 * The ops of every retraction among `messages` (by event id), each user's computed by `undoOfUser` from that
 * user's log read once and the ids of the user's retractions: one read and one replay per retracting user for
 * the whole batch, however many of the user's retractions it holds.
 */
export async function undoOpsOfRetractions<T>(
  db: Queryable,
  messages: readonly LogMessage[],
  undoOfUser: (userLog: readonly LogMessage[], retractions: ReadonlySet<string>) => Map<string, T>,
): Promise<Map<string, T>> {
  const logs = await readRetractingUsersLogs(db, messages);
  const out = new Map<string, T>();
  for (const [user, ids] of retractionsByUser(messages))
    for (const [id, value] of undoOfUser(logs.get(user) ?? [], ids)) out.set(id, value);
  return out;
}
