// The Postgres side of the merchandising rule write model: load the folded state, let the pure decider judge the
// command, then store the new state, the change rows and the audit entry in one transaction, and NOTIFY serving.
// The write is conditional on the version the decision was made against, so a writer that lost a race gets the
// same `conflict` a stale client gets. A refused command is audited after the rollback.
import type { Database, Queryable } from "../../core/postgres/database.ts";
import { recordAudit } from "../../core/audit/audit-log.ts";
import {
  decide,
  evolve,
  initialState,
  isRuleError,
  RuleError,
  type ExistingRule,
  type RuleCommand,
  type RuleEvent,
  type RuleState,
} from "./decider.ts";

/** Serving listens here and reloads its rules (serving/ranking/rules-stored.ts). */
export const RULES_CHANNEL = "reckon_merchandising_rules";

export interface RuleChange {
  readonly rule_id: string;
  readonly version: number;
  readonly event_type: string;
  readonly api_key_id: string;
  readonly at: string;
  /** The event's data: the definition created, the field changes of an update, or nothing for a delete. */
  readonly change: Record<string, unknown>;
}

/** Who asked, for the audit entry. */
export interface CommandOrigin {
  readonly actor: string;
  readonly requestId?: string | undefined;
}

const AUDIT_ACTIONS: Readonly<Record<RuleCommand["type"], string>> = {
  CreateRule: "rule.create",
  UpdateRule: "rule.update",
  DeleteRule: "rule.delete",
};

interface StateRow {
  state: ExistingRule;
}

export class RuleRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<ExistingRule | undefined> {
    const { rows } = await this.db.query<StateRow>("SELECT state FROM merchandising_rules WHERE id = $1", [
      id,
    ]);
    return rows[0]?.state;
  }

  /** Oldest first; deleted rules only when asked for. */
  async list(includeDeleted = false): Promise<ExistingRule[]> {
    const { rows } = await this.db.query<StateRow>(
      `SELECT state FROM merchandising_rules WHERE $1 OR status = 'active' ORDER BY created_at, id`,
      [includeDeleted],
    );
    return rows.map((r) => r.state);
  }

  async changes(id: string): Promise<RuleChange[]> {
    const { rows } = await this.db.query<Omit<RuleChange, "at"> & { at: Date }>(
      `SELECT rule_id, version, event_type, api_key_id, at, change
       FROM merchandising_rule_changes WHERE rule_id = $1 ORDER BY version`,
      [id],
    );
    return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
  }

  /** Decides and persists `command`; throws RuleError when refused (after auditing the refusal). */
  async execute(command: RuleCommand, now: Date, origin: CommandOrigin): Promise<ExistingRule> {
    const audit = {
      actor: origin.actor,
      requestId: origin.requestId,
      action: AUDIT_ACTIONS[command.type],
      target: command.data.rule_id,
    };
    try {
      return await this.db.transaction(async (tx) => {
        const { rows } = await tx.query<StateRow>("SELECT state FROM merchandising_rules WHERE id = $1", [
          command.data.rule_id,
        ]);
        const before: RuleState = rows[0]?.state ?? initialState();
        const events = decide(command, before, { now });
        const after = events.reduce(evolve, before);
        if (after.status === "absent") throw new Error("decider produced no rule");
        if (events.length > 0) {
          await storeState(tx, before, after);
          await recordChanges(tx, before.version, events);
          await tx.query("SELECT pg_notify($1, $2)", [RULES_CHANNEL, after.id]);
        }
        await recordAudit(tx, {
          ...audit,
          outcome: "ok",
          details: { version: after.version, changed: events.length > 0, ...summary(after) },
        });
        return after;
      });
    } catch (err) {
      if (isRuleError(err))
        await recordAudit(this.db, {
          ...audit,
          outcome: "refused",
          details: { error: err.code, message: err.message },
        });
      throw err;
    }
  }
}

function summary(rule: ExistingRule): Record<string, unknown> {
  const d = rule.definition;
  return { action: d.action, ...(d.item_id ? { item_id: d.item_id } : { category: d.category }) };
}

async function storeState(tx: Queryable, before: RuleState, after: ExistingRule): Promise<void> {
  if (before.status === "absent") {
    const { rows } = await tx.query(
      `INSERT INTO merchandising_rules (id, version, status, state, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [after.id, after.version, after.status, JSON.stringify(after), after.created_at, after.updated_at],
    );
    if (rows.length === 0) throw new RuleError("conflict", `rule ${JSON.stringify(after.id)} already exists`);
    return;
  }
  // Under READ COMMITTED a concurrent UPDATE waits for ours and re-checks the WHERE: one of two writers wins.
  const { rows } = await tx.query(
    `UPDATE merchandising_rules SET version = $2, status = $3, state = $4, updated_at = $5
     WHERE id = $1 AND version = $6 RETURNING id`,
    [after.id, after.version, after.status, JSON.stringify(after), after.updated_at, before.version],
  );
  if (rows.length === 0)
    throw new RuleError(
      "conflict",
      `rule ${JSON.stringify(after.id)} was changed by a concurrent request after version ${before.version}: reload and retry`,
      [{ field: "expected_version", rule: "another change was committed first", received: before.version }],
    );
}

async function recordChanges(
  tx: Queryable,
  fromVersion: number,
  events: readonly RuleEvent[],
): Promise<void> {
  await tx.query(
    `INSERT INTO merchandising_rule_changes (rule_id, version, event_type, api_key_id, at, change)
     SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::jsonb[])`,
    [
      events.map((e) => e.data.rule_id),
      events.map((_, i) => fromVersion + i + 1),
      events.map((e) => e.type),
      events.map((e) => e.data.api_key_id),
      events.map((e) => e.data.at),
      events.map((e) => JSON.stringify(changeOf(e))),
    ],
  );
}

/** What the history keeps of an event: its payload without the envelope the row already has. */
function changeOf(event: RuleEvent): Record<string, unknown> {
  switch (event.type) {
    case "RuleCreated":
      return { definition: event.data.definition };
    case "RuleUpdated":
      return { changes: event.data.changes };
    case "RuleDeleted":
      return {};
  }
}
