import type { Queryable } from "../postgres/database.ts";
import type { LogMessage } from "../contracts/log-message.ts";
import {
  compareLogPositions,
  LOG_START,
  parsePositionToken,
  type LogPosition,
} from "../contracts/position.ts";
import { readLogBatch, readLogHead, toLogPosition } from "../event-store/log-reader.ts";

/** Every log entry after `from`, in log order (specs compare read models with projections of it). */
export async function readWholeLog(db: Queryable, from: LogPosition = LOG_START): Promise<LogMessage[]> {
  const out: LogMessage[] = [];
  let at = from;
  for (;;) {
    const batch = await readLogBatch(db, at, 1000);
    if (batch.length === 0) return out;
    out.push(...batch);
    at = toLogPosition(batch[batch.length - 1]!);
  }
}

/** The log without the retracted events and without the retractions: what "never sent" means. */
export async function logWithoutRetracted(db: Queryable): Promise<LogMessage[]> {
  return withoutRetracted(await readWholeLog(db));
}

/** `log` without the retracted events and without the retractions. */
export function withoutRetracted(log: readonly LogMessage[]): LogMessage[] {
  const retracted = new Set(log.flatMap((m) => (m.kind === "retraction" ? [m.event.retracts] : [])));
  return log.filter(
    (m) => m.kind !== "retraction" && !(m.kind === "interaction" && retracted.has(m.event.event_id)),
  );
}

/**
 * Waits until a log reader sees `position` (a position or its token): readers stop below the oldest running
 * transaction of the whole Postgres server, which other suites' transactions may hold back for a moment.
 */
export async function waitVisible(
  db: Queryable,
  position: LogPosition | string | null | undefined,
): Promise<void> {
  if (position === null || position === undefined) return;
  const p = typeof position === "string" ? parsePositionToken(position)! : position;
  while (compareLogPositions(await readLogHead(db), p) < 0) await new Promise((r) => setTimeout(r, 20));
}
