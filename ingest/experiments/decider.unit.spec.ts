import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeciderSpecification } from "./testing.ts";
import { experimentDecider, foldExperiment, evolve, initialState } from "./decider.ts";
import { ExperimentError } from "./errors.ts";
import type { ExperimentCommand, ExperimentEvent } from "./model.ts";
import type { ExperimentDefinition, ExperimentDefinitionInput } from "./definition-schema.ts";

const created_at = new Date("2025-03-01T09:00:00.000Z");
const now = new Date("2025-03-02T10:30:00.000Z");
const given = DeciderSpecification.for(experimentDecider, { now });

const KEY = "checkout-cta";
const ADMIN = "key_admin";
const ANALYST = "key_analyst";

const input: ExperimentDefinitionInput = {
  key: KEY,
  name: "Checkout call to action",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "green", weight: 0.5, name: "Green button" },
  ],
  control: "control",
  traffic: 0.2,
  metrics: [{ key: "purchase-rate", type: "conversion", event_type: "purchase", window_hours: 72 }],
};

// What the write model stores for `input`: defaults applied.
const definition: ExperimentDefinition = {
  key: KEY,
  name: "Checkout call to action",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "green", weight: 0.5, name: "Green button" },
  ],
  control: "control",
  traffic: 0.2,
  metrics: [
    {
      key: "purchase-rate",
      type: "conversion",
      event_type: "purchase",
      window_hours: 72,
      guardrail: false,
      direction: "increase",
    },
  ],
  sequential: false,
  correction: "holm",
  breakdown_dimensions: [],
  analysis: {
    alpha: 0.05,
    sequential_tuning: 5000,
    prior: { enabled: false, mean: 0, variance: 0.09 },
    test: "two_sided",
    correction_scope: "all",
  },
};

const at = (d: Date) => d.toISOString();
const createdEvent: ExperimentEvent = {
  type: "ExperimentCreated",
  data: { experiment_key: KEY, api_key_id: ADMIN, at: at(created_at), definition },
};
const startedEvent: ExperimentEvent = {
  type: "ExperimentStarted",
  data: { experiment_key: KEY, api_key_id: ADMIN, at: at(created_at) },
};
const stoppedEvent: ExperimentEvent = {
  type: "ExperimentStopped",
  data: { experiment_key: KEY, api_key_id: ADMIN, at: at(created_at) },
};
const archivedEvent: ExperimentEvent = {
  type: "ExperimentArchived",
  data: { experiment_key: KEY, api_key_id: ADMIN, at: at(created_at) },
};

const create = (def: unknown = input, api_key_id = ADMIN): ExperimentCommand => ({
  type: "CreateExperiment",
  data: { api_key_id, definition: def as ExperimentDefinitionInput },
});
const update = (expected_version: number, patch: Record<string, unknown>): ExperimentCommand => ({
  type: "UpdateExperiment",
  data: { experiment_key: KEY, expected_version, api_key_id: ANALYST, patch },
});
const start = (expected_version: number): ExperimentCommand => ({
  type: "StartExperiment",
  data: { experiment_key: KEY, expected_version, api_key_id: ADMIN },
});
const stop = (expected_version: number): ExperimentCommand => ({
  type: "StopExperiment",
  data: { experiment_key: KEY, expected_version, api_key_id: ADMIN },
});
const archive = (expected_version: number): ExperimentCommand => ({
  type: "ArchiveExperiment",
  data: { experiment_key: KEY, expected_version, api_key_id: ADMIN },
});
const updated = (changes: Record<string, unknown>): ExperimentEvent =>
  ({
    type: "ExperimentUpdated",
    data: { experiment_key: KEY, api_key_id: ANALYST, at: at(now), changes },
  }) as ExperimentEvent;

const withCode = (code: ExperimentError["code"], field?: string, rule?: string) => (e: ExperimentError) => {
  assert.equal(e.code, code, e.message);
  if (field !== undefined) {
    const issue = e.issues.find((i) => i.field === field);
    assert.ok(issue, `no issue for field ${field}: ${JSON.stringify(e.issues)}`);
    if (rule !== undefined) assert.equal(issue.rule, rule);
  }
};

describe("creating an experiment", () => {
  it("records the definition with defaults applied, who created it and when", () => {
    given([])
      .when(create())
      .then([
        {
          type: "ExperimentCreated",
          data: { experiment_key: KEY, api_key_id: ADMIN, at: "2025-03-02T10:30:00.000Z", definition },
        },
      ]);
  });

  it("starts as a draft at version 1", () => {
    given([])
      .when(create())
      .thenState((state) => {
        assert.equal(state.status, "draft");
        assert.equal(state.version, 1);
      });
  });

  it("is refused when an experiment with the same key exists", () => {
    given([createdEvent])
      .when(create())
      .thenThrows(ExperimentError, withCode("already_exists", "key", "unique"));
  });

  it("needs at least two variants", () => {
    const e = given([])
      .when(create({ ...input, variants: [{ key: "control", weight: 1 }] }))
      .thenThrows(ExperimentError, withCode("validation", "variants", "too_small"));
    assert.deepEqual(e.issues[0]?.received, [{ key: "control", weight: 1 }]);
    assert.equal(e.issues[0]?.expected, "length >= 2");
  });

  it("needs weights that sum to 1", () => {
    const e = given([])
      .when(
        create({
          ...input,
          variants: [
            { key: "control", weight: 0.5 },
            { key: "green", weight: 0.6 },
          ],
        }),
      )
      .thenThrows(ExperimentError, withCode("validation", "variants", "weights_sum_to_one"));
    assert.deepEqual(e.issues[0]?.received, [0.5, 0.6]);
  });

  it("accepts weights whose float sum is off by rounding only (0.1 + 0.2 + 0.7)", () => {
    given([])
      .when(
        create({
          ...input,
          variants: [
            { key: "control", weight: 0.1 },
            { key: "green", weight: 0.2 },
            { key: "blue", weight: 0.7 },
          ],
        }),
      )
      .thenState((s) => assert.equal(s.status, "draft"));
  });

  it("needs the control to be one of the variants", () => {
    const e = given([])
      .when(create({ ...input, control: "blue" }))
      .thenThrows(ExperimentError, withCode("validation", "control", "control_is_a_variant"));
    assert.equal(e.issues[0]?.received, "blue");
    assert.equal(e.issues[0]?.expected, 'one of ["control","green"]');
  });

  it("needs at least one metric", () => {
    given([])
      .when(create({ ...input, metrics: [] }))
      .thenThrows(ExperimentError, withCode("validation", "metrics", "too_small"));
  });

  it("needs unique variant keys", () => {
    given([])
      .when(
        create({
          ...input,
          variants: [
            { key: "control", weight: 0.5 },
            { key: "control", weight: 0.5 },
          ],
        }),
      )
      .thenThrows(ExperimentError, withCode("validation", "variants[1].key", "unique"));
  });

  it("needs unique metric keys", () => {
    const metric = { key: "purchase-rate", type: "conversion", event_type: "purchase" };
    given([])
      .when(create({ ...input, metrics: [metric, { ...metric, event_type: "checkout" }] }))
      .thenThrows(ExperimentError, withCode("validation", "metrics[1].key", "unique"));
  });

  it("names the field, the rule and the received value in the message", () => {
    const e = given([])
      .when(create({ ...input, traffic: 1.5 }))
      .thenThrows(ExperimentError, withCode("validation", "traffic", "too_big"));
    assert.equal(
      e.message,
      "invalid experiment: traffic: Too big: expected number to be <=1 (rule too_big, expected <= 1, received 1.5)",
    );
  });

  it("reports every problem at once", () => {
    const e = given([])
      .when(create({ ...input, key: "Bad Key", traffic: -1, metrics: [] }))
      .thenThrows(ExperimentError, withCode("validation"));
    assert.deepEqual(
      e.issues.map((i) => [i.field, i.rule, i.received]),
      [
        ["key", "invalid_format", "Bad Key"],
        ["traffic", "too_small", -1],
        ["metrics", "too_small", []],
      ],
    );
  });

  it("is refused without the API key id of whoever asked", () => {
    given([])
      .when(create(input, ""))
      .thenThrows(ExperimentError, withCode("validation", "api_key_id", "required"));
  });
});

describe("updating a draft", () => {
  it("an analysis patch changes the fields it names and keeps the rest, the prior's included", () => {
    const first = {
      ...definition.analysis,
      alpha: 0.1,
      prior: { enabled: true, mean: 0.01, variance: 0.0025 },
    };
    given([createdEvent, updated({ analysis: first })])
      .when(update(2, { analysis: { prior: { mean: 0.02 }, correction_scope: "metric" } }))
      .then([
        updated({
          analysis: { ...first, prior: { ...first.prior, mean: 0.02 }, correction_scope: "metric" },
        }),
      ]);
  });

  it("refuses a one-sided test on a sequential experiment, whichever field the patch changes", () => {
    given([createdEvent, updated({ sequential: true })])
      .when(update(2, { analysis: { test: "one_sided" } }))
      .thenThrows(ExperimentError, withCode("validation", "analysis.test", "one_sided_not_sequential"));
  });

  it("may change variants, weights, control and metrics; the event holds only what changed", () => {
    const variants = [
      { key: "control", weight: 0.2 },
      { key: "green", weight: 0.3 },
      { key: "blue", weight: 0.5 },
    ];
    given([createdEvent])
      .when(update(1, { variants, control: "blue", name: "Three-way CTA" }))
      .then([updated({ name: "Three-way CTA", variants, control: "blue" })]);
  });

  it("checks the merged definition against every rule", () => {
    given([createdEvent])
      .when(update(1, { control: "purple" }))
      .thenThrows(ExperimentError, withCode("validation", "control", "control_is_a_variant"));
  });

  it("refuses an empty patch", () => {
    given([createdEvent])
      .when(update(1, {}))
      .thenThrows(ExperimentError, withCode("validation", "patch", "non_empty"));
  });

  it("refuses fields that cannot be patched, such as the key", () => {
    given([createdEvent])
      .when(update(1, { key: "other" }))
      .thenThrows(ExperimentError, withCode("validation", "key", "unrecognized_keys"));
  });

  it("is a conflict when the client's version is stale", () => {
    const e = given([createdEvent, updated({ name: "Renamed" })])
      .when(update(1, { name: "Mine" }))
      .thenThrows(ExperimentError, withCode("conflict", "expected_version", "matches_current_version"));
    assert.equal(
      e.message,
      'experiment "checkout-cta" is at version 2, but the command expected version 1: reload and retry',
    );
  });

  it("is not found when the experiment does not exist", () => {
    given([])
      .when(update(0, { name: "x" }))
      .thenThrows(ExperimentError, withCode("not_found"));
  });
});

describe("once started", () => {
  const running = [createdEvent, startedEvent];

  it("freezes variant weights", () => {
    given(running)
      .when(
        update(2, {
          variants: [
            { key: "control", weight: 0.4 },
            { key: "green", weight: 0.6 },
          ],
        }),
      )
      .thenThrows(ExperimentError, withCode("invalid_state", "variants", "frozen_after_start"));
  });

  it("freezes what serving does for a variant", () => {
    given(running)
      .when(
        update(2, {
          variants: [
            { key: "control", weight: 0.5 },
            { key: "green", weight: 0.5, serving: { ranker: "heuristic" } },
          ],
        }),
      )
      .thenThrows(ExperimentError, withCode("invalid_state", "variants", "frozen_after_start"));
  });

  it("freezes the set of variants", () => {
    given(running)
      .when(
        update(2, {
          variants: [
            { key: "control", weight: 0.5 },
            { key: "green", weight: 0.25 },
            { key: "blue", weight: 0.25 },
          ],
        }),
      )
      .thenThrows(ExperimentError, withCode("invalid_state", "variants", "frozen_after_start"));
  });

  it("still lets a variant's display name change", () => {
    const variants = [
      { key: "control", weight: 0.5, name: "Current" },
      { key: "green", weight: 0.5, name: "Green button" },
    ];
    given(running)
      .when(update(2, { variants }))
      .then([updated({ variants })]);
  });

  it("lets traffic grow", () => {
    given(running)
      .when(update(2, { traffic: 0.5 }))
      .then([updated({ traffic: 0.5 })]);
  });

  it("refuses to shrink traffic", () => {
    const e = given(running)
      .when(update(2, { traffic: 0.1 }))
      .thenThrows(ExperimentError, withCode("invalid_state", "traffic", "traffic_only_grows"));
    assert.equal(e.issues[0]?.expected, ">= 0.2");
    assert.equal(e.issues[0]?.received, 0.1);
  });

  it("lets metrics be added", () => {
    const added = {
      key: "revenue",
      type: "mean",
      event_type: "purchase",
      capping: { type: "percentile", value: 0.99 },
    };
    given(running)
      .when(update(2, { metrics: [definition.metrics[0], added] }))
      .then([
        updated({
          metrics: [definition.metrics[0], { ...added, guardrail: false, direction: "increase" }],
        }),
      ]);
  });

  it("refuses to edit an existing metric", () => {
    given(running)
      .when(update(2, { metrics: [{ ...definition.metrics[0], window_hours: 24 }] }))
      .thenThrows(ExperimentError, withCode("invalid_state", "metrics[0]", "frozen_after_start"));
  });

  it("refuses to remove a metric", () => {
    given(running)
      .when(update(2, { metrics: [{ key: "clicks", type: "conversion", event_type: "click" }] }))
      .thenThrows(ExperimentError, withCode("invalid_state", "metrics", "no_removal_after_start"));
  });

  it("freezes the control, the correction and the sequential flag", () => {
    given(running)
      .when(update(2, { control: "green" }))
      .thenThrows(ExperimentError, withCode("invalid_state", "control", "frozen_after_start"));
    given(running)
      .when(update(2, { correction: "bh" }))
      .thenThrows(ExperimentError, withCode("invalid_state", "correction", "frozen_after_start"));
    given(running)
      .when(update(2, { sequential: true }))
      .thenThrows(ExperimentError, withCode("invalid_state", "sequential", "frozen_after_start"));
  });

  it("freezes the analysis settings", () => {
    given(running)
      .when(update(2, { analysis: { alpha: 0.1 } }))
      .thenThrows(ExperimentError, withCode("invalid_state", "analysis", "frozen_after_start"));
  });

  it("still lets name, description and breakdown dimensions change", () => {
    given(running)
      .when(update(2, { name: "CTA v2", description: "Green vs grey", breakdown_dimensions: ["country"] }))
      .then([updated({ name: "CTA v2", description: "Green vs grey", breakdown_dimensions: ["country"] })]);
  });

  it("cannot start twice", () => {
    given(running)
      .when(start(2))
      .thenThrows(ExperimentError, withCode("invalid_state", "status", "start_requires_draft"));
  });

  it("cannot be archived while running", () => {
    given(running)
      .when(archive(2))
      .thenThrows(ExperimentError, withCode("invalid_state", "status", "archive_requires_draft_or_stopped"));
  });
});

describe("stopping and archiving", () => {
  it("stops only a running experiment", () => {
    given([createdEvent])
      .when(stop(1))
      .thenThrows(ExperimentError, withCode("invalid_state", "status", "stop_requires_running"));
  });

  it("does not restart a stopped experiment", () => {
    given([createdEvent, startedEvent, stoppedEvent])
      .when(start(3))
      .thenThrows(ExperimentError, withCode("invalid_state", "status", "start_requires_draft"));
  });

  it("freezes traffic once stopped, but still lets metrics be added for analysis", () => {
    const stopped = [createdEvent, startedEvent, stoppedEvent];
    given(stopped)
      .when(update(3, { traffic: 1 }))
      .thenThrows(ExperimentError, withCode("invalid_state", "traffic", "frozen_when_stopped"));
    const added = { key: "clicks", type: "conversion", event_type: "click" };
    given(stopped)
      .when(update(3, { metrics: [definition.metrics[0], added] }))
      .then([
        updated({ metrics: [definition.metrics[0], { ...added, guardrail: false, direction: "increase" }] }),
      ]);
  });

  it("archives a draft that never ran", () => {
    given([createdEvent])
      .when(archive(1))
      .then([{ type: "ExperimentArchived", data: { experiment_key: KEY, api_key_id: ADMIN, at: at(now) } }]);
  });

  it("allows no change after archive", () => {
    const archived = [createdEvent, startedEvent, stoppedEvent, archivedEvent];
    given(archived)
      .when(update(4, { name: "x" }))
      .thenThrows(ExperimentError, withCode("invalid_state"));
    given(archived).when(start(4)).thenThrows(ExperimentError, withCode("invalid_state"));
    given(archived).when(stop(4)).thenThrows(ExperimentError, withCode("invalid_state"));
    given(archived).when(archive(4)).thenThrows(ExperimentError, withCode("invalid_state"));
  });
});

describe("the full lifecycle", () => {
  it("goes draft → running → stopped → archived, one version per event, recording who and when", () => {
    const t = (h: number) => ({ now: new Date(Date.UTC(2025, 2, 1, h)) });
    const events: ExperimentEvent[] = [];
    const apply = (command: ExperimentCommand, ctx: { now: Date }) => {
      const produced = experimentDecider.decide(command, foldExperiment(events), ctx);
      assert.equal(produced.length, 1);
      events.push(...produced);
    };

    apply(create(), t(8));
    apply(update(1, { traffic: 0.1 }), t(9));
    apply(start(2), t(10));
    apply(update(3, { traffic: 0.5 }), t(11));
    apply(stop(4), t(12));
    apply(archive(5), t(13));

    assert.deepEqual(
      events.map((e) => e.type),
      [
        "ExperimentCreated",
        "ExperimentUpdated",
        "ExperimentStarted",
        "ExperimentUpdated",
        "ExperimentStopped",
        "ExperimentArchived",
      ],
    );
    assert.deepEqual(foldExperiment(events), {
      status: "archived",
      version: 6,
      definition: { ...definition, traffic: 0.5 },
      created_at: "2025-03-01T08:00:00.000Z",
      created_by: ADMIN,
      updated_at: "2025-03-01T13:00:00.000Z",
      updated_by: ADMIN,
      started_at: "2025-03-01T10:00:00.000Z",
      stopped_at: "2025-03-01T12:00:00.000Z",
      archived_at: "2025-03-01T13:00:00.000Z",
    });
  });

  it("decides the same way on a state that went through JSON (as stored in Postgres)", () => {
    const stored = JSON.parse(JSON.stringify(foldExperiment([createdEvent, startedEvent])));
    const events = experimentDecider.decide(update(2, { metrics: definition.metrics }), stored, { now });
    assert.deepEqual(events, [updated({ metrics: definition.metrics })]);
  });

  it("treats an event before ExperimentCreated as a corrupt stream", () => {
    assert.throws(() => evolve(initialState(), startedEvent), /corrupt experiment stream/);
  });
});
