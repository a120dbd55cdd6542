import { z } from "zod";
import type { Queryable } from "../postgres/database.ts";
import type { AuditOutcome } from "./audit-log.ts";

/** `GET /v1/audit`'s query: every filter optional, newest first, `cursor` continues a previous page. */
/** A text filter: Postgres text cannot hold NUL, so it is refused here rather than failing the query. */
// eslint-disable-next-line no-control-regex -- the NUL character is exactly what the rule refuses
const WITHOUT_NUL = /^[^\u0000]*$/;
const text = (max: number) =>
  z.string().min(1).max(max).regex(WITHOUT_NUL, "must not contain NUL characters");

export const AuditQuerySchema = z.strictObject({
  actor: text(200).optional().openapi({ description: "API key id, or cli:<user>" }),
  action: text(100).optional().openapi({ description: "e.g. catalog.upsert, user.erase" }),
  target: text(500).optional(),
  outcome: z.enum(["ok", "refused", "failed"]).optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: "Entries at or after this time" }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: "Entries before this time" }),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer from 1 to 1000")
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, "must be an integer from 1 to 1000")
    .optional()
    .openapi({ type: "integer", minimum: 1, maximum: 1000, description: "Page size (default 100)" }),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,17}$/, "must be the next_cursor of a previous page")
    .optional()
    .openapi({ description: "next_cursor of the previous page" }),
});
export type AuditQuery = z.output<typeof AuditQuerySchema>;

export interface AuditRecord {
  id: string;
  at: string;
  actor: string;
  request_id: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  details: Record<string, unknown>;
}

export interface AuditPage {
  entries: AuditRecord[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  next_cursor: string | null;
}

export const DEFAULT_AUDIT_PAGE = 100;

/**
 * Reads the audit log newest first (by id, the order entries were written) with the filters of `query`. The
 * cursor is the id of the last entry of the previous page, so pages never repeat or skip an entry while new
 * ones are written. ORDER BY names the table's column: the bare name would mean the text alias in the SELECT
 * list, and text order ("9" > "10") would shuffle pages.
 */
export async function queryAudit(db: Queryable, query: AuditQuery): Promise<AuditPage> {
  const limit = query.limit ?? DEFAULT_AUDIT_PAGE;
  const { rows } = await db.query<Omit<AuditRecord, "at"> & { at: Date }>(
    `SELECT id::text AS id, at, actor, request_id, action, target, outcome, details
       FROM audit_log
      WHERE ($1::text IS NULL OR actor = $1)
        AND ($2::text IS NULL OR action = $2)
        AND ($3::text IS NULL OR target = $3)
        AND ($4::text IS NULL OR outcome = $4)
        AND ($5::timestamptz IS NULL OR at >= $5)
        AND ($6::timestamptz IS NULL OR at < $6)
        AND ($7::bigint IS NULL OR id < $7)
      ORDER BY audit_log.id DESC
      LIMIT $8`,
    [
      query.actor ?? null,
      query.action ?? null,
      query.target ?? null,
      query.outcome ?? null,
      // As UTC instants: an ISO time's offset may lie outside what Postgres accepts (±15:59).
      query.from === undefined ? null : new Date(query.from).toISOString(),
      query.to === undefined ? null : new Date(query.to).toISOString(),
      query.cursor ?? null,
      limit + 1,
    ],
  );
  const page = rows.slice(0, limit).map((r) => ({ ...r, at: r.at.toISOString() }));
  return {
    entries: page,
    next_cursor: rows.length > limit ? page[page.length - 1]!.id : null,
  };
}
