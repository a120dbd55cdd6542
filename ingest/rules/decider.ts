// The merchandising rule write model: commands, events, state and the pure decider (no I/O, no clock: `now` is
// passed in), as ingest/experiments does for experiment definitions. The repository persists what it decides.
import { toFieldErrors, type FieldError } from "../../core/contracts/validation.ts";
import { patchDefinition, RuleDefinitionSchema, type RuleDefinition } from "./definition-schema.ts";

export type RuleErrorCode = "validation" | "not_found" | "conflict" | "invalid_state";

/** Suggested HTTP status per code. */
export const RULE_ERROR_HTTP_STATUS: Readonly<Record<RuleErrorCode, number>> = {
  validation: 400,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
};

/** A refused command: the code and the fields a client must fix. */
export class RuleError extends Error {
  override readonly name = "RuleError";
  constructor(
    readonly code: RuleErrorCode,
    message: string,
    readonly errors: readonly FieldError[] = [],
  ) {
    super(message);
  }
}

export function isRuleError(err: unknown): err is RuleError {
  return err instanceof RuleError;
}

export interface ExistingRule {
  readonly id: string;
  readonly version: number;
  readonly status: "active" | "deleted";
  readonly definition: RuleDefinition;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly deleted_at: string | null;
}

export type RuleState = { readonly status: "absent"; readonly version: 0 } | ExistingRule;

interface CommandBase {
  readonly rule_id: string;
  readonly api_key_id: string;
}

export type RuleCommand =
  | { readonly type: "CreateRule"; readonly data: CommandBase & { readonly definition: unknown } }
  | {
      readonly type: "UpdateRule";
      readonly data: CommandBase & {
        readonly expected_version: number;
        readonly patch: Readonly<Record<string, unknown>>;
      };
    }
  | { readonly type: "DeleteRule"; readonly data: CommandBase & { readonly expected_version: number } };

interface EventBase {
  readonly rule_id: string;
  readonly api_key_id: string;
  readonly at: string;
}

/** What changed, field by field (absent: the field was not set). */
export type FieldChanges = Readonly<Record<string, { readonly from?: unknown; readonly to?: unknown }>>;

export type RuleEvent =
  | { readonly type: "RuleCreated"; readonly data: EventBase & { readonly definition: RuleDefinition } }
  | {
      readonly type: "RuleUpdated";
      readonly data: EventBase & { readonly definition: RuleDefinition; readonly changes: FieldChanges };
    }
  | { readonly type: "RuleDeleted"; readonly data: EventBase };

export const initialState = (): RuleState => ({ status: "absent", version: 0 });

/** Judges a command against the state it was loaded at; throws RuleError when refused. */
export function decide(command: RuleCommand, state: RuleState, { now }: { now: Date }): RuleEvent[] {
  const base = { rule_id: command.data.rule_id, api_key_id: command.data.api_key_id, at: now.toISOString() };
  if (command.type === "CreateRule") {
    if (state.status !== "absent")
      throw new RuleError("conflict", `rule ${JSON.stringify(command.data.rule_id)} already exists`);
    const parsed = RuleDefinitionSchema.safeParse(command.data.definition);
    if (!parsed.success) throw invalid(toFieldErrors(parsed.error, command.data.definition));
    return [{ type: "RuleCreated", data: { ...base, definition: parsed.data } }];
  }
  if (state.status === "absent")
    throw new RuleError("not_found", `no rule ${JSON.stringify(command.data.rule_id)}`);
  checkVersion(state, command.data.expected_version);
  if (state.status === "deleted")
    throw new RuleError("invalid_state", `rule ${JSON.stringify(state.id)} is deleted`, [
      { field: "status", rule: "must not be deleted", received: state.status },
    ]);
  if (command.type === "DeleteRule") return [{ type: "RuleDeleted", data: base }];
  const parsed = patchDefinition(state.definition, command.data.patch);
  if (!parsed.success)
    throw invalid(toFieldErrors(parsed.error, { ...state.definition, ...command.data.patch }));
  const changes = fieldChanges(state.definition, parsed.data);
  if (Object.keys(changes).length === 0) return [];
  return [{ type: "RuleUpdated", data: { ...base, definition: parsed.data, changes } }];
}

export function evolve(state: RuleState, event: RuleEvent): RuleState {
  const { at, api_key_id } = event.data;
  switch (event.type) {
    case "RuleCreated":
      return {
        id: event.data.rule_id,
        version: 1,
        status: "active",
        definition: event.data.definition,
        created_at: at,
        created_by: api_key_id,
        updated_at: at,
        updated_by: api_key_id,
        deleted_at: null,
      };
    case "RuleUpdated":
      if (state.status === "absent") return state;
      return {
        ...state,
        version: state.version + 1,
        definition: event.data.definition,
        updated_at: at,
        updated_by: api_key_id,
      };
    case "RuleDeleted":
      if (state.status === "absent") return state;
      return {
        ...state,
        version: state.version + 1,
        status: "deleted",
        updated_at: at,
        updated_by: api_key_id,
        deleted_at: at,
      };
  }
}

function checkVersion(state: ExistingRule, expected: number): void {
  if (expected === state.version) return;
  throw new RuleError(
    "conflict",
    `rule ${JSON.stringify(state.id)} is at version ${state.version}, not ${expected}: reload it and retry`,
    [
      {
        field: "expected_version",
        rule: `must be the current version (${state.version})`,
        received: expected,
      },
    ],
  );
}

function invalid(errors: FieldError[]): RuleError {
  return new RuleError("validation", errors.map((e) => `${e.field}: ${e.rule}`).join("; "), errors);
}

function fieldChanges(before: RuleDefinition, after: RuleDefinition): FieldChanges {
  const changes: Record<string, { from?: unknown; to?: unknown }> = {};
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of [...keys].sort()) {
    const from = (before as Record<string, unknown>)[key];
    const to = (after as Record<string, unknown>)[key];
    if (JSON.stringify(from) === JSON.stringify(to)) continue;
    changes[key] = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
  }
  return changes;
}
