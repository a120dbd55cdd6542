// The Postgres side of the experiment write model: load the folded state, let the pure decider in
// ingest/experiments judge the command, then store the new state, the audit rows and the log events
// in one transaction. The store is conditional on the version the decision was made against, so a
// writer that lost a race gets the same `conflict` a stale client gets, never a silent overwrite.
import { randomUUID } from "node:crypto";
import type { Database, Queryable } from "../../core/postgres/database.ts";
import { type LogPosition, maxLogPosition } from "../../core/contracts/position.ts";
import { EVENTS_CHANNEL, insertEvents } from "../../core/event-store/event-store.ts";
import {
  decide,
  evolve,
  initialState,
  ExperimentError,
  type ExistingExperiment,
  type ExperimentCommand,
  type ExperimentEvent,
  type ExperimentState,
  type ExperimentStatus,
} from "../../ingest/experiments/index.ts";

export interface ExperimentChange {
  readonly key: string;
  readonly version: number;
  readonly event_type: string;
  readonly api_key_id: string;
  readonly at: string;
  readonly event_id: string;
  /** The decider's event data (for an update, only the fields it changed). */
  readonly change: ExperimentEvent["data"];
}

export interface CommandOutcome {
  readonly state: ExistingExperiment;
  readonly events: readonly ExperimentEvent[];
  /** Log position of the last appended event, for read-your-writes. */
  readonly position: LogPosition;
}

interface StateRow {
  state: ExistingExperiment;
}

export class ExperimentRepository {
  constructor(private readonly db: Database) {}

  async get(key: string): Promise<ExistingExperiment | undefined> {
    const { rows } = await this.db.query<StateRow>("SELECT state FROM experiments WHERE key = $1", [key]);
    return rows[0]?.state;
  }

  /** Newest first; `status` filters. Definitions are small, so the list carries them whole. */
  async list(status?: ExperimentStatus): Promise<ExistingExperiment[]> {
    const { rows } = await this.db.query<StateRow>(
      `SELECT state FROM experiments WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, key`,
      [status ?? null],
    );
    return rows.map((r) => r.state);
  }

  async changes(key: string): Promise<ExperimentChange[]> {
    const { rows } = await this.db.query<{
      key: string;
      version: number;
      event_type: string;
      api_key_id: string;
      at: Date;
      event_id: string;
      change: ExperimentEvent["data"];
    }>(
      `SELECT key, version, event_type, api_key_id, at, event_id::text, change
       FROM experiment_changes WHERE key = $1 ORDER BY version`,
      [key],
    );
    return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
  }

  /**
   * Decides `command` against the stored state and persists the outcome. Throws ExperimentError
   * (validation, not_found, conflict, invalid_state, already_exists) when refused.
   */
  async execute(command: ExperimentCommand, now: Date): Promise<CommandOutcome> {
    const key =
      command.type === "CreateExperiment" ? command.data.definition.key : command.data.experiment_key;
    return this.db.transaction(async (tx) => {
      // No row lock here: the conditional write below is what serialises writers, and a plain read
      // keeps GETs and refused commands from queueing behind one another.
      const { rows } = await tx.query<StateRow>("SELECT state FROM experiments WHERE key = $1", [key]);
      const before: ExperimentState = rows[0]?.state ?? initialState();
      const events = decide(command, before, { now });
      const after = events.reduce(evolve, before);
      if (after.status === "absent") throw new Error("decider produced no experiment");

      await storeState(tx, before, after);
      const ids = events.map(() => randomUUID());
      await recordChanges(tx, before.version, events, ids);
      const positions = await insertEvents(
        tx,
        "experiment",
        events.map((event, i) => ({
          event_id: ids[i]!,
          type: event.type,
          timestamp: event.data.at,
          experiment_key: after.definition.key,
          version: before.version + i + 1,
          api_key_id: event.data.api_key_id,
          change: event.data,
          // The whole state after the change, so projectors never need to read the experiments table.
          experiment: events.slice(0, i + 1).reduce(evolve, before),
        })),
      );
      await tx.query("SELECT pg_notify($1, '')", [EVENTS_CHANNEL]);
      const position = [...positions.values()].reduce(maxLogPosition);
      return { state: after, events, position };
    });
  }
}

async function storeState(tx: Queryable, before: ExperimentState, after: ExistingExperiment): Promise<void> {
  const key = after.definition.key;
  if (before.status === "absent") {
    const { rows } = await tx.query(
      `INSERT INTO experiments (key, version, status, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, after.version, after.status, JSON.stringify(after), after.created_at, after.updated_at],
    );
    if (rows.length === 0) {
      throw new ExperimentError("already_exists", `experiment ${JSON.stringify(key)} already exists`, [
        {
          field: "key",
          rule: "unique",
          expected: "a key no other experiment uses",
          received: key,
          message: `key: experiment ${JSON.stringify(key)} was created by a concurrent request`,
        },
      ]);
    }
    return;
  }
  // Under READ COMMITTED a concurrent writer's UPDATE waits for ours and then re-checks the WHERE
  // against the committed row, so exactly one of two writers at the same version succeeds.
  const { rows } = await tx.query(
    `UPDATE experiments SET version = $2, status = $3, state = $4, updated_at = $5
     WHERE key = $1 AND version = $6 RETURNING key`,
    [key, after.version, after.status, JSON.stringify(after), after.updated_at, before.version],
  );
  if (rows.length === 0) {
    throw new ExperimentError(
      "conflict",
      `experiment ${JSON.stringify(key)} was changed by a concurrent request after version ${before.version}: reload and retry`,
      [
        {
          field: "expected_version",
          rule: "matches_current_version",
          expected: `the version after the concurrent change (> ${before.version})`,
          received: before.version,
          message: `expected_version: another change to version ${before.version + 1} was committed first`,
        },
      ],
    );
  }
}

async function recordChanges(
  tx: Queryable,
  fromVersion: number,
  events: readonly ExperimentEvent[],
  ids: readonly string[],
): Promise<void> {
  await tx.query(
    `INSERT INTO experiment_changes (key, version, event_type, api_key_id, at, change, event_id)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[], $7::uuid[])`,
    [
      events.map((e) => e.data.experiment_key),
      events.map((_, i) => fromVersion + i + 1),
      events.map((e) => e.type),
      events.map((e) => e.data.api_key_id),
      events.map((e) => e.data.at),
      events.map((e) => JSON.stringify(e.data)),
      ids,
    ],
  );
}
