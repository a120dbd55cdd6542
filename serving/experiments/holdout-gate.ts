// Holdout precedence for assignment: before a user is assigned in an experiment, the holdouts covering
// that experiment are asked first. A held-out user is never exposed to the experiment; a user in a
// holdout's measurement group enters it as usual. Either way the user's holdout exposure is recorded,
// so the holdout's results count exactly the users who reached a covered experiment. A stopped holdout
// keeps no one out.
import type { Database } from "../../core/postgres/database.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { createHoldoutAssigner, exposureEvent, HELD_OUT, type HoldoutGroup } from "../assignment/index.ts";

const REMEMBERED_EXPOSURES = 100_000;

export interface HoldoutVerdict {
  /** The holdout that keeps the user out, when one does. */
  readonly heldOutBy: string | null;
}

interface CoveringHoldout {
  readonly key: string;
  readonly version: number;
  readonly assign: (userId: string) => HoldoutGroup | null;
}

export interface HoldoutGateOptions {
  db: Database;
  /** How long the holdouts of an experiment are reused before they are read again; default 2 s. */
  ttlMs?: number;
  now?: () => Date;
}

export class HoldoutGate {
  private readonly db: Database;
  private readonly ttlMs: number;
  private readonly now: () => Date;
  private readonly byExperiment = new Map<string, { at: number; holdouts: Promise<CoveringHoldout[]> }>();
  private readonly assigners = new Map<string, CoveringHoldout>();
  /** Insertion-ordered exposure ids this process stored, the oldest evicted first. */
  private readonly recorded = new Set<string>();

  constructor(options: HoldoutGateOptions) {
    this.db = options.db;
    this.ttlMs = options.ttlMs ?? 2_000;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Whether a holdout keeps `userId` out of `experimentKey`. With `record`, stores the user's exposure
   * to each covering holdout whose groups the user is in (the event id is derived from holdout and
   * user, so asking again is a duplicate).
   */
  async check(experimentKey: string, userId: string, record: boolean): Promise<HoldoutVerdict> {
    let heldOutBy: string | null = null;
    const events = [];
    for (const holdout of await this.covering(experimentKey)) {
      const group = holdout.assign(userId);
      if (group === null) continue;
      if (group === HELD_OUT && heldOutBy === null) heldOutBy = holdout.key;
      events.push(exposureEvent(holdout.key, group, userId, this.now()));
    }
    // Each user's holdout exposure is stored once per process; the log ignores a repeat anyway.
    const fresh = events.filter((e) => !this.recorded.has(e.event_id));
    if (record && fresh.length > 0) {
      await appendInteractionEvents(this.db, fresh);
      for (const e of fresh) this.recorded.add(e.event_id);
      while (this.recorded.size > REMEMBERED_EXPOSURES)
        this.recorded.delete(this.recorded.values().next().value!);
    }
    return { heldOutBy };
  }

  private covering(experimentKey: string): Promise<CoveringHoldout[]> {
    const at = this.now().getTime();
    const cached = this.byExperiment.get(experimentKey);
    if (cached && at - cached.at <= this.ttlMs) return cached.holdouts;
    const holdouts = this.db
      .query<{ key: string; version: number; share: number }>(
        `SELECT key, version, (state->'definition'->>'share')::float8 AS share
         FROM holdouts WHERE experiments @> ARRAY[$1]::text[] AND state->>'status' = 'running' ORDER BY key`,
        [experimentKey],
      )
      .then((r) => r.rows.map((row) => this.assignerFor(row)));
    holdouts.catch(() => {
      if (this.byExperiment.get(experimentKey)?.holdouts === holdouts)
        this.byExperiment.delete(experimentKey);
    });
    this.byExperiment.set(experimentKey, { at, holdouts });
    return holdouts;
  }

  private assignerFor(row: { key: string; version: number; share: number }): CoveringHoldout {
    const known = this.assigners.get(row.key);
    if (known?.version === row.version) return known;
    const next = { key: row.key, version: row.version, assign: createHoldoutAssigner(row) };
    this.assigners.set(row.key, next);
    return next;
  }
}
