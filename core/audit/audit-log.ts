import type { Queryable } from "../postgres/database.ts";

/** How a command ended: accepted, refused by a rule (4xx), or failed on the way (5xx). */
export type AuditOutcome = "ok" | "refused" | "failed";

/** One command, as the append-only `audit_log` table (migration 040) keeps it. */
export interface AuditEntry {
  /** The API key's id (`Caller.keyId`), or `cli:<user>` for a command run with `reckon`. */
  actor: string;
  /** The HTTP request's id; omitted for CLI commands. */
  requestId?: string;
  /** `<noun>.<verb>`, e.g. `catalog.upsert`, `experiment.start`, `model.activate`, `user.erase`. */
  action: string;
  /** What it acted on (item id, experiment key, model version, ...). */
  target?: string;
  outcome: AuditOutcome;
  /** Whatever else says what the command did (counts, versions); never secrets. */
  details?: Record<string, unknown>;
}

/**
 * Appends one entry. Pass the command's own transaction so the record and the change commit together
 * (a refused or failed command is recorded outside it, after the rollback).
 */
export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO audit_log (actor, request_id, action, target, outcome, details)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      entry.actor,
      entry.requestId ?? null,
      entry.action,
      entry.target ?? null,
      entry.outcome,
      JSON.stringify(entry.details ?? {}),
    ],
  );
}
