import { randomUUID } from "node:crypto";
import type { Database, Queryable } from "../../core/postgres/database.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { RetractionEvent } from "../../core/contracts/log-message.ts";
import { EVENTS_CHANNEL, insertEvents } from "../../core/event-store/event-store.ts";
import { formatPositionToken, maxLogPosition, type LogPosition } from "../../core/contracts/position.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";
import { retractionEventId } from "../../core/event-store/retraction-id.ts";
import { filterOf, MAX_RETRACTION_EVENTS, type RetractionFilter, type RetractionRequest } from "./request.ts";
import { retractionEffects, type RetractionEffects } from "./effects.ts";

export interface RetractionOutcome {
  retraction_id: string;
  dry_run: boolean;
  filter: RetractionFilter;
  /** Interactions the filter matches. */
  matched: number;
  /** Of those, retracted by this command (0 in a dry run). */
  retracted: number;
  /** Of those, retracted before (a retraction of a retracted event is a no-op). */
  already_retracted: number;
  /** In a dry run: how many this command would retract. */
  would_retract: number;
  /** Ids named in `event_ids` that the filter did not match (no such interaction, or excluded by the rest). */
  unmatched_event_ids: string[];
  /** Position token of the last compensating event, for `min_position` on reads; null when none was written. */
  position: string | null;
  effects: RetractionEffects;
}

export class TooManyEventsError extends Error {
  constructor(readonly matched: number) {
    super(`the filter matches more than ${MAX_RETRACTION_EVENTS} events; narrow it (or split it by time)`);
  }
}

export interface RetractionCaller {
  /** API key id, or `cli:<user>`. */
  actor: string;
  requestId?: string | undefined;
}

interface Matched {
  event_id: string;
  transaction_id: string;
  position: number;
  payload: InteractionEvent;
  categories: string[] | null;
}

/**
 * Retracts the interactions `request` selects: appends one compensating `retraction` entry per event not
 * retracted yet (carrying the original and the categories it was applied with), and the audit entry, in one
 * transaction. Idempotent: an event's retraction has a derived id, so retracting it again writes nothing.
 * A dry run reads the same and writes only its audit entry.
 */
export async function retractEvents(
  db: Database,
  request: RetractionRequest,
  caller: RetractionCaller,
  now: Date = new Date(),
): Promise<RetractionOutcome> {
  const retractionId = randomUUID();
  const filter = filterOf(request);
  return db.transaction(async (tx) => {
    const matched = await selectInteractions(tx, filter);
    const retractionIds = matched.map((m) => retractionEventId(m.event_id));
    const { rows: existing } = await tx.query<{ event_id: string }>(
      "SELECT event_id::text AS event_id FROM events WHERE event_id = ANY($1::uuid[])",
      [retractionIds],
    );
    const done = new Set(existing.map((r) => r.event_id));
    const pending = matched.filter((_, i) => !done.has(retractionIds[i]!));
    const unmatched = unmatchedIds(filter, matched);
    const effects = retractionEffects(pending.map((m) => m.payload));
    let written = new Map<string, LogPosition>();
    if (!request.dry_run && pending.length > 0) {
      const events: RetractionEvent[] = pending.map((m) => ({
        event_id: retractionEventId(m.event_id),
        type: "retraction",
        retracts: m.event_id,
        retraction_id: retractionId,
        user_id: m.payload.user_id,
        ...(m.payload.item_id === undefined ? {} : { item_id: m.payload.item_id }),
        timestamp: now.toISOString(),
        ...(request.reason === undefined ? {} : { reason: request.reason }),
        categories: m.categories ?? [],
        original: m.payload,
      }));
      written = await insertEvents(tx, "retraction", events);
      await tx.query("SELECT pg_notify($1, '')", [EVENTS_CHANNEL]);
    }
    let head: LogPosition | undefined;
    for (const p of written.values()) head = head ? maxLogPosition(head, p) : p;
    const outcome: RetractionOutcome = {
      retraction_id: retractionId,
      dry_run: request.dry_run,
      filter,
      matched: matched.length,
      retracted: written.size,
      already_retracted: matched.length - pending.length,
      would_retract: pending.length,
      unmatched_event_ids: unmatched,
      position: head ? formatPositionToken(head) : null,
      effects,
    };
    await recordAudit(tx, {
      actor: caller.actor,
      ...(caller.requestId === undefined ? {} : { requestId: caller.requestId }),
      action: request.dry_run ? "events.retract_dry_run" : "events.retract",
      target: retractionId,
      outcome: "ok",
      details: {
        filter,
        ...(request.reason === undefined ? {} : { reason: request.reason }),
        matched: outcome.matched,
        retracted: outcome.retracted,
        already_retracted: outcome.already_retracted,
        would_retract: outcome.would_retract,
      },
    });
    return outcome;
  });
}

/**
 * The visible interactions the filter selects, in log order, each with the categories of its item's latest
 * catalog entry before it in the log (what the features projection applied it with). Throws TooManyEventsError
 * past MAX_RETRACTION_EVENTS.
 */
async function selectInteractions(tx: Queryable, filter: RetractionFilter): Promise<Matched[]> {
  const where: string[] = [
    "e.kind = 'interaction'",
    "e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
  ];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  if (filter.event_ids) add((n) => `e.event_id = ANY(${n}::uuid[])`, filter.event_ids);
  if (filter.user_id !== undefined) add((n) => `e.user_id = ${n}`, filter.user_id);
  if (filter.type !== undefined) add((n) => `e.type = ${n}`, filter.type);
  if (filter.experiment !== undefined)
    add((n) => `e.payload->'experiment'->>'key' = ${n}`, filter.experiment);
  if (filter.from !== undefined) add((n) => `e.occurred_at >= ${n}::timestamptz`, filter.from);
  if (filter.to !== undefined) add((n) => `e.occurred_at < ${n}::timestamptz`, filter.to);
  params.push(MAX_RETRACTION_EVENTS + 1);
  const { rows } = await tx.query<Matched>(
    `SELECT e.event_id::text AS event_id, e.transaction_id::text AS transaction_id, e.position, e.payload,
            c.categories
       FROM events e
       LEFT JOIN LATERAL (
         SELECT ARRAY(SELECT jsonb_array_elements_text(c.payload->'item'->'categories')) AS categories
           FROM events c
          WHERE c.kind = 'catalog' AND c.item_id = e.item_id
            AND (c.transaction_id, c.position) < (e.transaction_id, e.position)
          ORDER BY (c.payload->'item'->>'version')::bigint DESC, c.transaction_id DESC, c.position DESC
          LIMIT 1) c ON e.item_id IS NOT NULL
      WHERE ${where.join(" AND ")}
      ORDER BY e.transaction_id, e.position
      LIMIT $${params.length}`,
    params,
  );
  if (rows.length > MAX_RETRACTION_EVENTS) throw new TooManyEventsError(rows.length);
  return rows;
}

function unmatchedIds(filter: RetractionFilter, matched: readonly Matched[]): string[] {
  if (!filter.event_ids) return [];
  const found = new Set(matched.map((m) => m.event_id.toLowerCase()));
  return filter.event_ids.filter((id) => !found.has(id.toLowerCase()));
}
