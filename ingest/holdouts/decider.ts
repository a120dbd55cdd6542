// The holdout write model as a pure decider, versioned like an experiment: every accepted change
// raises `version` by one, and a change names the version it was made against (optimistic
// concurrency). A holdout applies from its creation until it is stopped, which releases its users
// and freezes its results; `share` never changes, so no user ever moves between the holdout and the
// rest while it runs.
import { ExperimentError, parseOrThrow, show } from "../experiments/errors.ts";
import { HoldoutDefinitionSchema, HoldoutPatchSchema, type HoldoutDefinition } from "./definition-schema.ts";

export type HoldoutCommand =
  | {
      readonly type: "CreateHoldout";
      readonly data: { readonly api_key_id: string; readonly definition: unknown };
    }
  | {
      readonly type: "UpdateHoldout";
      readonly data: {
        readonly api_key_id: string;
        readonly holdout_key: string;
        readonly expected_version: number;
        readonly patch: unknown;
      };
    }
  | {
      readonly type: "StopHoldout";
      readonly data: {
        readonly api_key_id: string;
        readonly holdout_key: string;
        readonly expected_version: number;
      };
    };

export type HoldoutEvent =
  | {
      readonly type: "HoldoutCreated";
      readonly data: {
        readonly holdout_key: string;
        readonly api_key_id: string;
        readonly at: string;
        readonly definition: HoldoutDefinition;
      };
    }
  | {
      readonly type: "HoldoutUpdated";
      readonly data: {
        readonly holdout_key: string;
        readonly api_key_id: string;
        readonly at: string;
        readonly changes: Partial<Omit<HoldoutDefinition, "key" | "share">>;
      };
    }
  | {
      readonly type: "HoldoutStopped";
      readonly data: { readonly holdout_key: string; readonly api_key_id: string; readonly at: string };
    };

export interface ExistingHoldout {
  /** running: held-out users are kept out; stopped: they enter experiments again, results are frozen. */
  readonly status: "running" | "stopped";
  readonly version: number;
  readonly definition: HoldoutDefinition;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly stopped_at: string | null;
}

export type HoldoutState = { readonly version: 0; readonly definition?: undefined } | ExistingHoldout;

export const initialHoldoutState = (): HoldoutState => ({ version: 0 });

export function decideHoldout(
  command: HoldoutCommand,
  state: HoldoutState,
  context: { now: Date },
): HoldoutEvent[] {
  const at = context.now.toISOString();
  const { api_key_id } = command.data;
  if (command.type === "CreateHoldout") {
    const definition = parseOrThrow(HoldoutDefinitionSchema, command.data.definition);
    if (state.definition) {
      throw new ExperimentError(
        "already_exists",
        `holdout ${JSON.stringify(definition.key)} already exists`,
        [
          {
            field: "key",
            rule: "unique",
            expected: "a key no other holdout uses",
            received: definition.key,
            message: `key: holdout ${JSON.stringify(definition.key)} already exists`,
          },
        ],
      );
    }
    return [{ type: "HoldoutCreated", data: { holdout_key: definition.key, api_key_id, at, definition } }];
  }
  const { holdout_key, expected_version } = command.data;
  if (!state.definition) {
    throw new ExperimentError("not_found", `holdout ${JSON.stringify(holdout_key)} does not exist`);
  }
  if (expected_version !== state.version) {
    throw new ExperimentError(
      "conflict",
      `holdout ${JSON.stringify(holdout_key)} is at version ${state.version}, but the change expected version ${show(expected_version)}: reload and retry`,
      [
        {
          field: "expected_version",
          rule: "matches_current_version",
          expected: String(state.version),
          received: expected_version,
          message: `expected_version: holdout is at version ${state.version} (received ${show(expected_version)})`,
        },
      ],
    );
  }
  if (state.status === "stopped") {
    throw new ExperimentError(
      "invalid_state",
      `holdout ${JSON.stringify(holdout_key)} is stopped: its users and results are final`,
      [
        {
          field: "status",
          rule: "must_be_running",
          expected: "running",
          received: state.status,
          message: `status: a stopped holdout cannot change (received ${state.status})`,
        },
      ],
    );
  }
  if (command.type === "StopHoldout") {
    return [{ type: "HoldoutStopped", data: { holdout_key, api_key_id, at } }];
  }
  const changes = parseOrThrow(HoldoutPatchSchema, command.data.patch);
  if (Object.keys(changes).length === 0) return [];
  return [{ type: "HoldoutUpdated", data: { holdout_key, api_key_id, at, changes } }];
}

export function evolveHoldout(state: HoldoutState, event: HoldoutEvent): ExistingHoldout {
  if (event.type === "HoldoutCreated") {
    const { at, api_key_id, definition } = event.data;
    return {
      status: "running",
      version: 1,
      definition,
      created_at: at,
      created_by: api_key_id,
      updated_at: at,
      updated_by: api_key_id,
      stopped_at: null,
    };
  }
  if (!state.definition) throw new Error(`${event.type} for ${event.data.holdout_key}, which does not exist`);
  const { at, api_key_id } = event.data;
  const next = { ...state, version: state.version + 1, updated_at: at, updated_by: api_key_id };
  if (event.type === "HoldoutStopped") return { ...next, status: "stopped", stopped_at: at };
  return { ...next, definition: { ...state.definition, ...event.data.changes } };
}
