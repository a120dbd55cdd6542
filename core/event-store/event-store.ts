import type { Database, Queryable } from "../postgres/database.ts";
import type { InteractionEvent } from "../contracts/event.ts";
import type { RecommendationServedEvent } from "../contracts/recommendation-served.ts";
import { type LogPosition, maxLogPosition } from "../contracts/position.ts";

/** Postgres NOTIFY channel the relay listens on, so it publishes within milliseconds of a commit. */
export const EVENTS_CHANNEL = "reckon_events";

export type AppendOutcome = { event_id: string; status: "accepted" | "duplicate"; position: LogPosition };

export interface AppendResult {
  outcomes: AppendOutcome[];
  /** The highest log position among the batch's events (new or earlier), for read-your-writes. */
  head: LogPosition | undefined;
}

interface Row {
  event_id: string;
  position: number;
  transaction_id: string;
}

/**
 * Appends interaction events in one statement (its own transaction). Events whose event_id was seen before (in an
 * earlier request or earlier in the same batch) are acknowledged as duplicates and not stored twice. Resolves
 * after the commit.
 *
 * One statement rather than a transaction of several: each statement of a transaction is a round trip (to the
 * server, or to the embedded database's worker thread) during which the transaction holds its session, and on
 * the embedded database that one session serves every other statement too. The statement inserts, looks up the
 * duplicates stored before it (its snapshot does not see its own rows) and notifies the log's listeners at commit.
 */
export async function appendInteractionEvents(
  db: Database,
  events: readonly InteractionEvent[],
): Promise<AppendResult> {
  if (events.length === 0) return { outcomes: [], head: undefined };
  const ids = events.map((e) => e.event_id);
  const { rows } = await db.query<{ stored: PositionTuple[]; earlier: PositionTuple[] }>(
    `WITH stored AS (
       INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
       SELECT e.event_id, 'interaction', e.type, e.user_id, e.item_id, e.occurred_at, e.payload
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])
         AS e(event_id, type, user_id, item_id, occurred_at, payload)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id, position, transaction_id
     )
     SELECT (SELECT coalesce(json_agg(json_build_array(event_id, position, transaction_id::text)), '[]')
               FROM stored) AS stored,
            (SELECT coalesce(json_agg(json_build_array(event_id, position, transaction_id::text)), '[]')
               FROM events WHERE event_id = ANY($1::uuid[])) AS earlier,
            pg_notify($7, '')::text AS notified`,
    [
      ids,
      events.map((e) => e.type),
      events.map((e) => e.user_id ?? null),
      events.map((e) => e.item_id ?? null),
      events.map((e) => e.timestamp),
      events.map((e) => JSON.stringify(e)),
      EVENTS_CHANNEL,
    ],
  );
  const inserted = positionsOf(rows[0]!.stored);
  const earlier = positionsOf(rows[0]!.earlier);
  // A duplicate whose first copy a concurrent transaction committed while this statement waited on its conflict is
  // not in the statement's snapshot; it is committed now, so a fresh read finds it (on a server only: PGlite runs
  // one statement at a time).
  const unresolved = [...new Set(ids.filter((id) => !inserted.has(id) && !earlier.has(id)))];
  if (unresolved.length > 0) {
    const { rows: late } = await db.query<Row>(
      "SELECT event_id, position, transaction_id::text FROM events WHERE event_id = ANY($1::uuid[])",
      [unresolved],
    );
    for (const r of late)
      earlier.set(r.event_id, { transactionId: BigInt(r.transaction_id), position: r.position });
  }
  return resolveOutcomes(events, inserted, earlier);
}

/** `[event_id, position, transaction_id]` as the append statement aggregates them. */
type PositionTuple = [string, number, string];

const positionsOf = (tuples: PositionTuple[]) =>
  new Map(
    tuples.map(([id, position, transactionId]) => [id, { transactionId: BigInt(transactionId), position }]),
  );

/**
 * Appends what serving answered (one row per answer, batched by the caller), in one transaction. A record whose
 * recommendation id is already stored (a retried batch) is skipped. Resolves after the commit.
 */
export async function appendRecommendationsServed(
  db: Database,
  records: readonly RecommendationServedEvent[],
): Promise<{ stored: number }> {
  if (records.length === 0) return { stored: 0 };
  // One statement (its own transaction; the NOTIFY is delivered at its commit) and one JSON parameter: serving
  // writes these every flush, so the batch is encoded by JSON.stringify once rather than as six array literals,
  // and only the count comes back rather than a row per record.
  const { rows } = await db.query<{ stored: number }>(
    `WITH stored AS (
       INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
       SELECT (e->>'event_id')::uuid, 'recommendation', e->>'type', e->>'user_id', e->>'item_id',
              (e->>'timestamp')::timestamptz, e
       FROM jsonb_array_elements($1::jsonb) AS e
       ON CONFLICT (event_id) DO NOTHING
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM stored)::int AS stored, pg_notify($2, '')::text AS notified`,
    [JSON.stringify(records), EVENTS_CHANNEL],
  );
  return { stored: rows[0]!.stored };
}

/** Inserts rows of one kind; returns the rows that were new. Exposed for catalog and experiment writers. */
export async function insertEvents(
  tx: Queryable,
  kind: "interaction" | "catalog" | "experiment" | "recommendation" | "retraction",
  events: ReadonlyArray<{
    event_id: string;
    type: string;
    user_id?: string | undefined;
    item_id?: string | undefined;
    timestamp: string;
  }>,
): Promise<Map<string, LogPosition>> {
  // unnest() turns column arrays into rows: one round trip and one statement per batch, whatever its size.
  const { rows } = await tx.query<Row>(
    `INSERT INTO events (event_id, kind, type, user_id, item_id, occurred_at, payload)
     SELECT e.event_id, $1, e.type, e.user_id, e.item_id, e.occurred_at, e.payload
     FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[])
       AS e(event_id, type, user_id, item_id, occurred_at, payload)
     ON CONFLICT (event_id) DO NOTHING
     RETURNING event_id, position, transaction_id::text`,
    [
      kind,
      events.map((e) => e.event_id),
      events.map((e) => e.type),
      events.map((e) => e.user_id ?? null),
      events.map((e) => e.item_id ?? null),
      events.map((e) => e.timestamp),
      events.map((e) => JSON.stringify(e)),
    ],
  );
  return new Map(
    rows.map((r) => [r.event_id, { transactionId: BigInt(r.transaction_id), position: r.position }]),
  );
}

function resolveOutcomes(
  events: readonly InteractionEvent[],
  inserted: Map<string, LogPosition>,
  earlier: Map<string, LogPosition>,
): AppendResult {
  const claimed = new Set<string>();
  let head: LogPosition | undefined;
  const outcomes = events.map((e): AppendOutcome => {
    const fresh = inserted.get(e.event_id);
    // The first occurrence within this batch is the one that was stored; repeats are duplicates of it.
    const isNew = fresh !== undefined && !claimed.has(e.event_id);
    claimed.add(e.event_id);
    const position = (fresh ?? earlier.get(e.event_id))!;
    head = head ? maxLogPosition(head, position) : position;
    return { event_id: e.event_id, status: isNew ? "accepted" : "duplicate", position };
  });
  return { outcomes, head };
}
