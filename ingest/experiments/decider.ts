// The experiment write model as a pure decider: decide(command, state, { now }) → events, and
// evolve(state, event) → state. No I/O and no clock: the repository loads the events for a key,
// folds them with evolve, calls decide, and appends the result at the expected version.
//
// Lifecycle: (absent) ─Create→ draft ─Start→ running ─Stop→ stopped ─Archive→ archived
//                                 └────────────────Archive──────────────────┘
// What an Update may change depends on the status (see docs/guides/experiments.md for the table and the reasons).
import { isDeepStrictEqual } from "node:util";
import { ExperimentError, parseOrThrow, show } from "./errors.ts";
import type { ExperimentIssue } from "./errors.ts";
import type {
  AbsentExperiment,
  DecideContext,
  ExistingExperiment,
  ExperimentCommand,
  ExperimentEvent,
  ExperimentState,
  ExperimentStatus,
  ExperimentUpdated,
  UpdateExperiment,
} from "./model.ts";
import {
  analysisSettingsOf,
  ExperimentDefinitionSchema,
  ExperimentPatchSchema,
} from "./definition-schema.ts";
import type { ExperimentDefinition, ExperimentPatch } from "./definition-schema.ts";

export const initialState = (): ExperimentState =>
  ({ status: "absent", version: 0 }) satisfies AbsentExperiment;

export function decide(
  command: ExperimentCommand,
  state: ExperimentState,
  context: DecideContext,
): ExperimentEvent[] {
  const at = isoTime(context.now);
  requireActor(command.data.api_key_id);

  if (command.type === "CreateExperiment") {
    if (state.status !== "absent") {
      const key = state.definition.key;
      throw new ExperimentError("already_exists", `experiment ${JSON.stringify(key)} already exists`, [
        {
          field: "key",
          rule: "unique",
          expected: "a key no other experiment uses",
          received: key,
          message: `key: experiment ${JSON.stringify(key)} already exists (status ${state.status})`,
        },
      ]);
    }
    const definition = parseOrThrow(ExperimentDefinitionSchema, command.data.definition);
    return [
      {
        type: "ExperimentCreated",
        data: { experiment_key: definition.key, api_key_id: command.data.api_key_id, at, definition },
      },
    ];
  }

  const { experiment_key, expected_version, api_key_id } = command.data;
  if (state.status === "absent") {
    throw new ExperimentError("not_found", `experiment ${JSON.stringify(experiment_key)} does not exist`);
  }
  if (state.definition.key !== experiment_key) {
    // A wiring bug (the wrong stream was loaded), not a client error.
    throw new Error(
      `command for experiment ${JSON.stringify(experiment_key)} decided against ${JSON.stringify(state.definition.key)}`,
    );
  }
  // Version first: a client acting on a stale copy should reload before any other rule is explained.
  if (expected_version !== state.version) {
    throw new ExperimentError(
      "conflict",
      `experiment ${JSON.stringify(experiment_key)} is at version ${state.version}, ` +
        `but the command expected version ${show(expected_version)}: reload and retry`,
      [
        {
          field: "expected_version",
          rule: "matches_current_version",
          expected: String(state.version),
          received: expected_version,
          message: `expected_version: experiment is at version ${state.version} (received ${show(expected_version)})`,
        },
      ],
    );
  }
  const base = { experiment_key, api_key_id, at };

  switch (command.type) {
    case "UpdateExperiment":
      return [decideUpdate(command, state, at)];
    case "StartExperiment":
      requireStatus(state, ["draft"], "start", "only a draft can start; a stopped experiment cannot restart");
      return [{ type: "ExperimentStarted", data: base }];
    case "StopExperiment":
      requireStatus(state, ["running"], "stop", "only a running experiment can stop");
      return [{ type: "ExperimentStopped", data: base }];
    case "ArchiveExperiment":
      requireStatus(state, ["draft", "stopped"], "archive", "stop a running experiment before archiving it");
      return [{ type: "ExperimentArchived", data: base }];
  }
}

export function evolve(state: ExperimentState, event: ExperimentEvent): ExperimentState {
  const { at, api_key_id } = event.data;
  if (event.type === "ExperimentCreated") {
    return {
      status: "draft",
      version: state.version + 1,
      definition: event.data.definition,
      created_at: at,
      created_by: api_key_id,
      updated_at: at,
      updated_by: api_key_id,
      started_at: null,
      stopped_at: null,
      archived_at: null,
    };
  }
  if (state.status === "absent") {
    throw new Error(`corrupt experiment stream: ${event.type} before ExperimentCreated`);
  }
  const touched = { ...state, version: state.version + 1, updated_at: at, updated_by: api_key_id };
  switch (event.type) {
    case "ExperimentUpdated":
      return { ...touched, definition: { ...state.definition, ...event.data.changes } };
    case "ExperimentStarted":
      return { ...touched, status: "running", started_at: at };
    case "ExperimentStopped":
      return { ...touched, status: "stopped", stopped_at: at };
    case "ExperimentArchived":
      return { ...touched, status: "archived", archived_at: at };
  }
}

/** The decider as one value, the shape Emmett's command handlers and our spec helper take. */
export const experimentDecider = { decide, evolve, initialState };

/** Rebuilds state from a stream (what the repository does after loading the events for a key). */
export function foldExperiment(events: readonly ExperimentEvent[]): ExperimentState {
  return events.reduce(evolve, initialState());
}

const PATCH_FIELDS = [
  "name",
  "description",
  "variants",
  "control",
  "traffic",
  "metrics",
  "sequential",
  "correction",
  "breakdown_dimensions",
  "analysis",
] as const satisfies readonly (keyof ExperimentPatch)[];
type PatchField = (typeof PATCH_FIELDS)[number];

/** Fields that describe what users saw and how results are judged: fixed once data is being collected. */
const FROZEN_ONCE_STARTED: readonly PatchField[] = ["control", "sequential", "correction", "analysis"];

function decideUpdate(command: UpdateExperiment, state: ExistingExperiment, at: string): ExperimentUpdated {
  if (state.status === "archived") {
    throw new ExperimentError(
      "invalid_state",
      `cannot update experiment ${JSON.stringify(state.definition.key)}: it is archived and read-only`,
    );
  }
  const patch = parseOrThrow(ExperimentPatchSchema, command.data.patch);
  const setFields = PATCH_FIELDS.filter((f) => Object.hasOwn(patch, f) && patch[f] !== undefined);
  if (setFields.length === 0) {
    throw ExperimentError.rule(
      "patch",
      "non_empty",
      `at least one of ${PATCH_FIELDS.join(", ")}`,
      command.data.patch,
      "an update must change at least one field",
    );
  }

  // The merged result must satisfy every definition rule (two variants, weights sum to 1, ...).
  const merged = parseOrThrow(ExperimentDefinitionSchema, {
    ...state.definition,
    ...pick(patch, setFields),
    ...(patch.analysis ? { analysis: mergedAnalysis(state.definition, patch.analysis) } : {}),
  });

  if (state.status === "running" || state.status === "stopped") {
    const issues = startedExperimentIssues(state.definition, merged, setFields, state.status);
    if (issues.length > 0) {
      throw new ExperimentError(
        "invalid_state",
        `cannot change experiment ${JSON.stringify(state.definition.key)} while ${state.status}: ` +
          issues.map((i) => i.message).join("; "),
        issues,
      );
    }
  }

  return {
    type: "ExperimentUpdated",
    data: {
      experiment_key: state.definition.key,
      api_key_id: command.data.api_key_id,
      at,
      changes: pick(merged, setFields),
    },
  };
}

/** An analysis patch changes the fields it names (the prior's too) and keeps the others. */
function mergedAnalysis(definition: ExperimentDefinition, patch: NonNullable<ExperimentPatch["analysis"]>) {
  const current = analysisSettingsOf(definition);
  return { ...current, ...patch, prior: { ...current.prior, ...patch.prior } };
}

/**
 * Once users have been assigned, changing who gets which variant (keys, order, weights) would move
 * users between arms and mix exposures, so variants are frozen; only display names may change.
 * Traffic may grow while running because bucket ranges grow in place (a user keeps their variant);
 * shrinking it would drop assigned users. Metrics may be added (they are computed from raw events
 * after the fact) but not edited or removed, so earlier readouts keep their meaning.
 */
function startedExperimentIssues(
  before: ExperimentDefinition,
  after: ExperimentDefinition,
  setFields: readonly PatchField[],
  status: Extract<ExperimentStatus, "running" | "stopped">,
): ExperimentIssue[] {
  const issues: ExperimentIssue[] = [];
  const refuse = (field: string, rule: string, expected: string, received: unknown, why: string) =>
    issues.push({
      field,
      rule,
      expected,
      received,
      message: `${field}: ${why} (received ${show(received)})`,
    });

  if (setFields.includes("variants")) {
    // What serving does for a variant is part of the treatment, so it is frozen with the split.
    const shape = (d: ExperimentDefinition) =>
      d.variants.map((v) => ({ key: v.key, weight: v.weight, serving: v.serving ?? null }));
    if (!sameJson(shape(before), shape(after))) {
      refuse(
        "variants",
        "frozen_after_start",
        JSON.stringify(shape(before)),
        shape(after),
        `variant keys, order, weights and serving settings are frozen once started (only names may change)`,
      );
    }
  }
  for (const field of FROZEN_ONCE_STARTED) {
    if (setFields.includes(field) && !sameJson(before[field], after[field])) {
      refuse(field, "frozen_after_start", show(before[field]), after[field], `cannot change once started`);
    }
  }
  if (setFields.includes("traffic") && after.traffic !== before.traffic) {
    if (status === "stopped") {
      refuse(
        "traffic",
        "frozen_when_stopped",
        String(before.traffic),
        after.traffic,
        "a stopped experiment assigns no one",
      );
    } else if (after.traffic < before.traffic) {
      refuse(
        "traffic",
        "traffic_only_grows",
        `>= ${before.traffic}`,
        after.traffic,
        "traffic may only grow while running; shrinking would drop users already assigned",
      );
    }
  }
  if (setFields.includes("metrics")) {
    after.metrics.forEach((metric, i) => {
      const old = before.metrics.find((m) => m.key === metric.key);
      if (old && !sameJson(old, metric)) {
        refuse(
          `metrics[${i}]`,
          "frozen_after_start",
          show(old),
          metric,
          `existing metric ${JSON.stringify(metric.key)} cannot be edited once started; add a new metric instead`,
        );
      }
    });
    const kept = new Set(after.metrics.map((m) => m.key));
    const removed = before.metrics.filter((m) => !kept.has(m.key)).map((m) => m.key);
    if (removed.length > 0) {
      refuse(
        "metrics",
        "no_removal_after_start",
        `a list containing ${JSON.stringify(before.metrics.map((m) => m.key))}`,
        after.metrics.map((m) => m.key),
        `metrics ${JSON.stringify(removed)} cannot be removed once started`,
      );
    }
  }
  return issues;
}

function requireStatus(
  state: ExistingExperiment,
  allowed: readonly ExperimentStatus[],
  action: string,
  hint: string,
): void {
  if (!allowed.includes(state.status)) {
    throw new ExperimentError(
      "invalid_state",
      `cannot ${action} experiment ${JSON.stringify(state.definition.key)}: it is ${state.status}, ` +
        `expected ${allowed.join(" or ")} (${hint})`,
      [
        {
          field: "status",
          rule: `${action}_requires_${allowed.join("_or_")}`,
          expected: allowed.join(" | "),
          received: state.status,
          message: `status: cannot ${action} when ${state.status} (${hint})`,
        },
      ],
    );
  }
}

function requireActor(apiKeyId: unknown): void {
  if (typeof apiKeyId !== "string" || apiKeyId.length === 0) {
    throw ExperimentError.rule(
      "api_key_id",
      "required",
      "a non-empty string",
      apiKeyId,
      "every command records who issued it",
    );
  }
}

function isoTime(now: Date): string {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new Error(`decide needs a valid { now: Date }, received ${String(now)}`);
  }
  return now.toISOString();
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) out[k] = source[k];
  return out;
}

// Stored definitions may come back from JSONB with keys reordered and undefined fields dropped,
// so compare the JSON data model, not object identity or key order.
function sameJson(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(a) ?? "null"), JSON.parse(JSON.stringify(b) ?? "null"));
}
