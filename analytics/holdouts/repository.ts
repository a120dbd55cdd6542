// The Postgres side of the holdout write model: load the folded state, let the pure decider in
// ingest/holdouts judge the command, then store the new state and the audit rows in one
// transaction, conditional on the version the decision was made against (as experiments do).
import type { Database, Queryable } from "../../core/postgres/database.ts";
import {
  decideHoldout,
  evolveHoldout,
  initialHoldoutState,
  type ExistingHoldout,
  type HoldoutCommand,
  type HoldoutState,
} from "../../ingest/holdouts/index.ts";
import { ExperimentError } from "../../ingest/experiments/index.ts";

export class HoldoutRepository {
  constructor(private readonly db: Database) {}

  async get(key: string): Promise<ExistingHoldout | undefined> {
    const { rows } = await this.db.query<{ state: ExistingHoldout }>(
      "SELECT state FROM holdouts WHERE key = $1",
      [key],
    );
    return rows[0]?.state;
  }

  async list(): Promise<ExistingHoldout[]> {
    const { rows } = await this.db.query<{ state: ExistingHoldout }>(
      "SELECT state FROM holdouts ORDER BY created_at DESC, key",
    );
    return rows.map((r) => r.state);
  }

  /** Decides and stores `command`; throws ExperimentError (validation, not_found, conflict, already_exists). */
  async execute(command: HoldoutCommand, now: Date): Promise<ExistingHoldout> {
    const key = command.type === "CreateHoldout" ? keyOf(command.data.definition) : command.data.holdout_key;
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ state: ExistingHoldout }>(
        "SELECT state FROM holdouts WHERE key = $1",
        [key],
      );
      const before: HoldoutState = rows[0]?.state ?? initialHoldoutState();
      const events = decideHoldout(command, before, { now });
      if (events.length === 0) return before as ExistingHoldout;
      const after = events.reduce(evolveHoldout, before) as ExistingHoldout;
      await storeState(tx, before, after);
      for (const [i, event] of events.entries()) {
        await tx.query(
          `INSERT INTO holdout_changes (key, version, event_type, api_key_id, at, change) VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            after.definition.key,
            before.version + i + 1,
            event.type,
            event.data.api_key_id,
            event.data.at,
            JSON.stringify(event.data),
          ],
        );
      }
      return after;
    });
  }
}

function keyOf(definition: unknown): string {
  const key = (definition as { key?: unknown } | null)?.key;
  return typeof key === "string" ? key : "";
}

async function storeState(tx: Queryable, before: HoldoutState, after: ExistingHoldout): Promise<void> {
  const { key, experiments } = after.definition;
  if (before.version === 0) {
    const { rows } = await tx.query(
      `INSERT INTO holdouts (key, version, experiments, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING RETURNING key`,
      [key, after.version, experiments, JSON.stringify(after), after.created_at, after.updated_at],
    );
    if (rows.length === 0) {
      throw new ExperimentError(
        "already_exists",
        `holdout ${JSON.stringify(key)} was created by a concurrent request`,
      );
    }
    return;
  }
  const { rows } = await tx.query(
    `UPDATE holdouts SET version = $2, experiments = $3, state = $4, updated_at = $5
     WHERE key = $1 AND version = $6 RETURNING key`,
    [key, after.version, experiments, JSON.stringify(after), after.updated_at, before.version],
  );
  if (rows.length === 0) {
    throw new ExperimentError(
      "conflict",
      `holdout ${JSON.stringify(key)} was changed by a concurrent request after version ${before.version}: reload and retry`,
    );
  }
}
