// Commands, events and state of the experiment aggregate: plain readonly data (Emmett style), so they
// serialise to JSON unchanged for the Postgres event store and the Kafka relay.
import type {
  ExperimentDefinition,
  ExperimentDefinitionInput,
  ExperimentPatchInput,
} from "./definition-schema.ts";

/** Who issued a command: the id of the API key that authenticated the request. */
interface Attributed {
  readonly api_key_id: string;
}

/** Commands on an existing experiment say which version they were computed from (optimistic concurrency). */
interface Versioned extends Attributed {
  readonly experiment_key: string;
  readonly expected_version: number;
}

// Create has no expected_version: it implicitly expects "no experiment with this key" (version 0),
// and a clash is reported as `already_exists`, which says more than a version conflict would.
export type CreateExperiment = {
  readonly type: "CreateExperiment";
  readonly data: Attributed & { readonly definition: ExperimentDefinitionInput };
};
export type UpdateExperiment = {
  readonly type: "UpdateExperiment";
  readonly data: Versioned & { readonly patch: ExperimentPatchInput };
};
export type StartExperiment = { readonly type: "StartExperiment"; readonly data: Versioned };
export type StopExperiment = { readonly type: "StopExperiment"; readonly data: Versioned };
export type ArchiveExperiment = { readonly type: "ArchiveExperiment"; readonly data: Versioned };

export type ExperimentCommand =
  CreateExperiment | UpdateExperiment | StartExperiment | StopExperiment | ArchiveExperiment;

/** Every event records who did it and when (`at`, ISO-8601 from the `now` given to decide). */
interface EventBase extends Attributed {
  readonly experiment_key: string;
  readonly at: string;
}

export type ExperimentCreated = {
  readonly type: "ExperimentCreated";
  readonly data: EventBase & { readonly definition: ExperimentDefinition };
};
/** `changes` holds only the fields the patch set, already validated and normalised. */
export type ExperimentUpdated = {
  readonly type: "ExperimentUpdated";
  readonly data: EventBase & { readonly changes: Partial<Omit<ExperimentDefinition, "key">> };
};
export type ExperimentStarted = { readonly type: "ExperimentStarted"; readonly data: EventBase };
export type ExperimentStopped = { readonly type: "ExperimentStopped"; readonly data: EventBase };
export type ExperimentArchived = { readonly type: "ExperimentArchived"; readonly data: EventBase };

export type ExperimentEvent =
  ExperimentCreated | ExperimentUpdated | ExperimentStarted | ExperimentStopped | ExperimentArchived;

export type ExperimentEventType = ExperimentEvent["type"];
export type ExperimentCommandType = ExperimentCommand["type"];

export type ExperimentStatus = "draft" | "running" | "stopped" | "archived";

/** No event yet for this key. `version` counts applied events, so it is 0 here. */
export interface AbsentExperiment {
  readonly status: "absent";
  readonly version: 0;
}

export interface ExistingExperiment {
  readonly status: ExperimentStatus;
  /** Number of events applied; the value a client passes back as `expected_version`. */
  readonly version: number;
  readonly definition: ExperimentDefinition;
  readonly created_at: string;
  readonly created_by: string;
  readonly updated_at: string;
  readonly updated_by: string;
  readonly started_at: string | null;
  readonly stopped_at: string | null;
  readonly archived_at: string | null;
}

export type ExperimentState = AbsentExperiment | ExistingExperiment;

/** Metadata passed to decide: time comes from outside so rules stay pure and testable. */
export interface DecideContext {
  readonly now: Date;
}
