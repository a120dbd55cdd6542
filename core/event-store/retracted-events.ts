import type { Queryable } from "../postgres/database.ts";
import type { LogMessage } from "../contracts/log-message.ts";
import type { LogPosition } from "../contracts/position.ts";
import { retractionEventId } from "./retraction-id.ts";

/**
 * Leaves retracted interactions out of a rebuild: an interaction whose retraction the log holds (at or before
 * `until`, the position the rebuild stops at, when it has one) is skipped, and so is that retraction when the
 * rebuild reaches it. The rebuilt read model is then a projection of the log without those events, exact even
 * for what an undo cannot subtract (maxima, capped lists, co-occurrence). A retraction whose original was not
 * skipped (it came after this check, or before a `--from`) is applied as an undo.
 */
export class RetractedEventsFilter {
  private readonly skipped = new Set<string>();

  constructor(
    private readonly db: Queryable,
    private readonly until?: LogPosition,
  ) {}

  /** The messages of `batch` (in log order) a rebuild applies. */
  async filter(batch: readonly LogMessage[]): Promise<LogMessage[]> {
    const interactions = batch.filter((m) => m.kind === "interaction").map((m) => m.event.event_id);
    const retracted = await this.retractedAmong(interactions);
    const out: LogMessage[] = [];
    for (const m of batch) {
      if (m.kind === "interaction" && retracted.has(m.event.event_id.toLowerCase())) {
        this.skipped.add(m.event.event_id.toLowerCase());
        continue;
      }
      if (m.kind === "retraction" && this.skipped.delete(m.event.retracts.toLowerCase())) continue;
      out.push(m);
    }
    return out;
  }

  /** Which of `eventIds` have a retraction in the log (up to `until`). */
  private async retractedAmong(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const byRetraction = new Map(eventIds.map((id) => [retractionEventId(id), id.toLowerCase()]));
    const bound = this.until
      ? "AND (transaction_id, position) <= ($2::text::xid8, $3::bigint)"
      : "AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())";
    const { rows } = await this.db.query<{ event_id: string }>(
      `SELECT event_id::text AS event_id FROM events WHERE event_id = ANY($1::uuid[]) ${bound}`,
      this.until
        ? [[...byRetraction.keys()], this.until.transactionId.toString(), this.until.position]
        : [[...byRetraction.keys()]],
    );
    return new Set(rows.map((r) => byRetraction.get(r.event_id)!));
  }
}

/**
 * Pure: `messages` (in log order) without the interactions a retraction among them takes back, and without
 * those retractions; a retraction whose original is not among them stays (it is applied as an undo).
 */
export function dropRetracted(messages: readonly LogMessage[]): LogMessage[] {
  const retracted = new Set(
    messages.flatMap((m) => (m.kind === "retraction" ? [m.event.retracts.toLowerCase()] : [])),
  );
  const skipped = new Set<string>();
  return messages.filter((m) => {
    if (m.kind === "interaction" && retracted.has(m.event.event_id.toLowerCase())) {
      skipped.add(m.event.event_id.toLowerCase());
      return false;
    }
    return !(m.kind === "retraction" && skipped.has(m.event.retracts.toLowerCase()));
  });
}
