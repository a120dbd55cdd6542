// Request and response shapes of the experiments API: the one source for validation, the TypeScript
// types the routes and the results assembly return, and the OpenAPI document (registerExperimentsOpenApi).
import { extendZodWithOpenApi, type OpenAPIRegistry } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import {
  AnalysisSettingsSchema,
  ExperimentDefinitionSchema,
  ExperimentPatchSchema,
  SlugSchema,
} from "../../ingest/experiments/index.ts";
import { bearerAuth, jsonBodyResponses, keyedResponses } from "../../core/http/openapi.ts";
import { IdSchema } from "../../core/contracts/id.ts";

extendZodWithOpenApi(z);

const Version = z
  .number()
  .int()
  .min(1)
  .openapi({ description: "Number of changes so far; send it back as expected_version / If-Match" });

export const ErrorIssueSchema = z
  .object({
    field: z
      .string()
      .openapi({ description: 'Dotted path, e.g. "variants[1].weight"; "" is the whole body' }),
    rule: z.string(),
    expected: z.string().optional(),
    received: z.unknown().optional(),
    message: z.string().optional(),
  })
  .openapi("ExperimentErrorIssue");

export const ErrorResponseSchema = z
  .object({
    error: z.string().openapi({ example: "conflict" }),
    message: z.string(),
    errors: z.array(ErrorIssueSchema).optional(),
    current_version: z.number().int().optional(),
  })
  .openapi("ExperimentErrorResponse");

export const ExperimentStatusSchema = z
  .enum(["draft", "running", "stopped", "archived"])
  .openapi("ExperimentStatus");

export const ExperimentResourceSchema = z
  .object({
    key: z.string(),
    version: Version,
    status: ExperimentStatusSchema,
    definition: ExperimentDefinitionSchema,
    created_at: z.string(),
    created_by: z.string().openapi({ description: "Id of the API key that created it" }),
    updated_at: z.string(),
    updated_by: z.string(),
    started_at: z.string().nullable(),
    stopped_at: z.string().nullable(),
    archived_at: z.string().nullable(),
  })
  .openapi("Experiment");

export const ExperimentWriteResponseSchema = ExperimentResourceSchema.extend({
  position: z.string().openapi({ description: "Log position token of the change, for read-your-writes" }),
}).openapi("ExperimentWriteResponse");

export const ExperimentListResponseSchema = z
  .object({ experiments: z.array(ExperimentResourceSchema) })
  .openapi("ExperimentList");

export const ListQuerySchema = z.strictObject({ status: ExperimentStatusSchema.optional() });

/** PATCH body: the fields to change, plus expected_version unless If-Match carries it. */
export const PatchBodySchema = ExperimentPatchSchema.extend({
  expected_version: z.number().int().min(0).optional(),
}).openapi("ExperimentPatchRequest");

/** start / stop / archive body: only the version (optional when If-Match is sent). */
export const TransitionBodySchema = z
  .strictObject({ expected_version: z.number().int().min(0).optional() })
  .openapi("ExperimentTransitionRequest");

export const ExperimentChangeSchema = z
  .object({
    key: z.string(),
    version: Version,
    event_type: z.enum([
      "ExperimentCreated",
      "ExperimentUpdated",
      "ExperimentStarted",
      "ExperimentStopped",
      "ExperimentArchived",
    ]),
    api_key_id: z.string(),
    at: z.string(),
    event_id: z.string().openapi({ description: "Id of the same change in the event log" }),
    change: z
      .record(z.string(), z.unknown())
      .openapi({ description: "The change as decided: for updates only the fields set" }),
  })
  .openapi("ExperimentChange");

export const ExperimentChangesResponseSchema = z
  .object({ key: z.string(), changes: z.array(ExperimentChangeSchema) })
  .openapi("ExperimentChanges");

const booleanFlag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

export const AssignmentQuerySchema = z.strictObject({
  user_id: IdSchema,
  record: booleanFlag.optional().openapi({ description: "false: answer without recording an exposure" }),
});

export const AssignmentResponseSchema = z
  .object({
    experiment_key: z.string(),
    user_id: z.string(),
    variant: z.string().nullable().openapi({ description: "null when the user is not in the experiment" }),
    in_experiment: z.boolean(),
    reason: z.enum(["assigned", "not_in_traffic", "not_running", "held_out"]).openapi({
      description:
        "Why this answer: not_running also carries status; held_out: a holdout covering this experiment keeps the user out (serve the default experience)",
    }),
    holdout: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "With reason held_out: the key of the holdout that keeps the user out" }),
    status: ExperimentStatusSchema,
    bucket: z.number().nullable().openapi({ description: "The user's hash in [0, 1)" }),
    exposure: z
      .object({
        event_id: z.string(),
        status: z
          .enum(["accepted", "duplicate"])
          .openapi({ description: "duplicate: this user's first exposure was recorded earlier" }),
      })
      .nullable(),
    position: z.string().nullable().openapi({ description: "Log position token of the exposure event" }),
  })
  .openapi("Assignment");

export const ResultsQuerySchema = z.strictObject({
  breakdown: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional()
    .openapi({ description: "A context dimension, e.g. country" }),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  cumulative: booleanFlag.optional().openapi({ description: "false skips the cumulative-lift series" }),
  as_of: z.string().optional().openapi({
    description:
      "ISO-8601 date-time with a zone, not in the future: the results as they were then, computed from the log recorded by then",
    format: "date-time",
  }),
});

// ---- power ----

export const PowerQuerySchema = z.strictObject({
  power: z.coerce.number().gt(0).lt(1).optional().openapi({
    description: "Target power, 0..1 (default 0.8)",
    example: 0.8,
  }),
  effect: z.coerce.number().gt(0).max(10).optional().openapi({
    description:
      "A relative lift to plan for (0.05 = +5 %): adds its power now and the users and days it needs",
    example: 0.05,
  }),
});

export const PowerVariantSchema = z
  .object({
    variant: z.string(),
    users: z.object({ control: z.number().int(), variant: z.number().int() }),
    baseline_mean: z.number(),
    variance: z.number().openapi({
      description: "Per-unit variance used: the control's, CUPED-adjusted when the results adjust",
    }),
    mde: z.number().nullable().openapi({
      description:
        "Smallest relative lift detected with the target power at the current users; null when none is (too few users or no variance)",
    }),
    power_at_effect: z.number().nullable(),
    users_needed: z
      .number()
      .nullable()
      .openapi({ description: "Users in the whole experiment (all arms) needed for `effect`" }),
    days_needed: z.number().nullable().openapi({
      description:
        "Further days at the observed traffic until users_needed is reached (0 when already there)",
    }),
  })
  .openapi("PowerVariant");

export const PowerResponseSchema = z
  .object({
    experiment_key: z.string(),
    alpha: z.number(),
    sides: z.union([z.literal(1), z.literal(2)]),
    power: z.number(),
    effect: z.number().nullable(),
    window: z.object({ from: z.string().nullable(), to: z.string() }),
    days_observed: z.number(),
    users: z.number().int(),
    users_per_day: z.number(),
    metrics: z.array(
      z.object({
        key: z.string(),
        type: z.string(),
        guardrail: z.boolean(),
        variants: z.array(PowerVariantSchema),
      }),
    ),
    note: z.string(),
  })
  .openapi("ExperimentPower");

export type PowerResponse = z.output<typeof PowerResponseSchema>;

// ---- overlap ----

export const OverlapResponseSchema = z
  .object({
    experiment_key: z.string(),
    alpha: z.number(),
    computed_at: z.string(),
    overlaps: z.array(
      z.object({
        experiment_key: z.string().openapi({ description: "The other running experiment" }),
        users_in_both: z.number().int(),
        cells: z.array(z.object({ variant: z.string(), other_variant: z.string(), users: z.number().int() })),
        metrics: z.array(
          z.object({
            key: z.string(),
            interactions: z.array(
              z.object({
                variant: z.string(),
                other_variant: z.string(),
                estimate: z.number().openapi({
                  description:
                    "Difference-in-differences of the mean: this variant's absolute lift with the other's treatment minus without it",
                }),
                ci: z.tuple([z.number(), z.number()]),
                p_value: z.number(),
                stddev: z.number(),
                error: z.string().nullable(),
                flagged: z.boolean(),
              }),
            ),
          }),
        ),
        warning: z.string().nullable(),
      }),
    ),
  })
  .openapi("ExperimentOverlap");

export type OverlapResponse = z.output<typeof OverlapResponseSchema>;

// ---- results ----

export const LiftTestSchema = z
  .object({
    estimate: z.number(),
    ci: z.tuple([z.number(), z.number()]),
    p_value: z.number(),
    stddev: z.number().openapi({ description: "Standard error of the lift" }),
    error: z.string().nullable().openapi({ description: "gbstats error code when the test cannot run" }),
  })
  .openapi("LiftTest");

export const ArmSummarySchema = z
  .object({
    variant: z.string(),
    users: z.number().int(),
    mean: z.number(),
    variance: z.number(),
    stddev: z.number(),
  })
  .openapi("ArmSummary");

export const VariantResultSchema = ArmSummarySchema.extend({
  absolute: LiftTestSchema,
  relative: LiftTestSchema,
  sequential: z.object({ absolute: LiftTestSchema, relative: LiftTestSchema }).nullable(),
  cuped: z
    .object({
      theta: z.number().nullable(),
      control_adjusted_mean: z.number(),
      variant_adjusted_mean: z.number(),
      unadjusted: z.object({ absolute: LiftTestSchema, relative: LiftTestSchema }),
    })
    .nullable()
    .openapi({
      description: "Present when pre-exposure data was available; the lifts above are then adjusted",
    }),
  bayesian: z.object({
    chance_to_win: z.number(),
    risk: z
      .object({ control: z.number(), variant: z.number() })
      .openapi({ description: "Expected relative loss of keeping control / shipping the variant" }),
    expected: z.number(),
    ci: z.tuple([z.number(), z.number()]),
    error: z.string().nullable(),
  }),
  non_inferiority: z
    .object({
      margin: z.number(),
      bound: z.number().openapi({
        description:
          "Confidence bound of the relative lift on the harmful side (lower when higher is better, upper otherwise)",
      }),
      p_value: z.number().nullable().openapi({
        description:
          "One-sided p of 'worse than the margin'; null for sequential experiments (decided on the interval)",
      }),
      non_inferior: z.boolean(),
      error: z.string().nullable(),
    })
    .nullable()
    .openapi({
      description:
        "Guardrails with a non_inferiority_margin: whether the lift is shown not to be worse than the margin. Fixed horizon: one-sided t-test at alpha against the margin; sequential: the always-valid interval's harmful bound against the margin",
    }),
  decision: z
    .object({
      method: z.enum(["fixed_horizon", "sequential"]),
      test: z.enum(["two_sided", "one_sided"]),
      relative_ci: z.tuple([z.number(), z.number()]).openapi({
        description:
          "Two-sided: the 1 - alpha interval. One-sided: the 1 - 2·alpha interval, whose bound on the metric's bad side is the one-sided 1 - alpha bound",
      }),
      p_value: z.number(),
      adjusted_p_value: z.number().openapi({
        description: "After the experiment's multiple-testing correction (guardrails are not in the family)",
      }),
      significant: z.boolean(),
      verdict: z
        .enum(["better", "worse", "inconclusive"])
        .openapi({ description: "Direction-aware: a decrease is better for direction=decrease metrics" }),
    })
    .openapi({
      description:
        "What to decide on: the sequential test when the experiment asks for it, else the fixed-horizon one",
    }),
}).openapi("VariantResult");

export const MetricResultSchema = z
  .object({
    key: z.string(),
    type: z.enum(["conversion", "mean", "ratio", "quantile"]),
    guardrail: z.boolean(),
    direction: z.enum(["increase", "decrease"]),
    control: ArmSummarySchema,
    variants: z.array(VariantResultSchema),
  })
  .openapi("MetricResult");

export const SrmResultSchema = z
  .object({
    arms: z.array(
      z.object({
        variant: z.string(),
        users: z.number().int(),
        expected_share: z.number(),
        observed_share: z.number(),
      }),
    ),
    chi_square: z.number(),
    degrees_of_freedom: z.number().int(),
    p_value: z.number(),
    threshold: z.number(),
    flagged: z.boolean(),
    message: z.string().nullable(),
  })
  .openapi("SampleRatioMismatch");

export const SegmentResultSchema = z
  .object({
    value: z.string(),
    users: z.number().int(),
    srm: SrmResultSchema,
    metrics: z.array(MetricResultSchema),
  })
  .openapi("BreakdownSegment");

export const CumulativePointSchema = z
  .object({
    date: z.string().openapi({ description: "End of the period (UTC day) the totals run up to" }),
    users: z.record(z.string(), z.number().int()),
    metrics: z.record(
      z.string(),
      z.record(
        z.string(),
        z.object({
          relative: z.number(),
          ci: z.tuple([z.number(), z.number()]),
          error: z.string().nullable(),
        }),
      ),
    ),
  })
  .openapi("CumulativePoint");

export const ExperimentResultsSchema = z
  .object({
    experiment_key: z.string(),
    version: z.number().int(),
    status: ExperimentStatusSchema,
    control: z.string(),
    alpha: z.number(),
    correction: z.enum(["holm", "bh", "none"]),
    sequential: z.boolean(),
    analysis: AnalysisSettingsSchema.openapi({
      description: "The analysis settings the results were computed with, defaults filled in",
    }),
    computed_at: z.string(),
    window: z.object({ from: z.string().nullable(), to: z.string() }),
    computed_from: z.enum(["user_totals", "events"]).openapi({
      description:
        "user_totals: the per-user totals the analytics projection maintains for a running experiment (read as of now); events: computed from every event (a closed window, or totals not yet covering every exposed user)",
    }),
    users: z.record(z.string(), z.number().int()),
    srm: SrmResultSchema,
    metrics: z.array(MetricResultSchema),
    breakdown: z.object({ dimension: z.string(), segments: z.array(SegmentResultSchema) }).nullable(),
    cumulative: z.array(CumulativePointSchema),
  })
  .openapi("ExperimentResults");

export type ExperimentResults = z.output<typeof ExperimentResultsSchema>;
export type MetricResult = z.output<typeof MetricResultSchema>;
export type VariantResult = z.output<typeof VariantResultSchema>;
export type LiftTest = z.output<typeof LiftTestSchema>;
export type SrmReport = z.output<typeof SrmResultSchema>;
export type CumulativePoint = z.output<typeof CumulativePointSchema>;

/** Adds every experiments path to an OpenAPI registry (the integrator generates the document from it). */
export function registerExperimentsOpenApi(registry: OpenAPIRegistry): void {
  const bearer = bearerAuth(registry);
  const security = [{ [bearer.name]: [] }];
  // Every route checks the key against the slug rule (400), so the document gives generators the same pattern.
  const KeyParam = z.object({ key: SlugSchema.openapi({ param: { name: "key", in: "path" } }) });
  const json = <T extends z.ZodType>(schema: T, description: string) => ({
    description,
    content: { "application/json": { schema } },
  });
  const errors = {
    400: json(ErrorResponseSchema, "Invalid request: errors name field, rule, expected and received"),
    404: json(ErrorResponseSchema, "No experiment with this key"),
    409: json(
      ErrorResponseSchema,
      "Stale version (conflict), a key already used, or not allowed in this status",
    ),
  };
  const read = keyedResponses("read");
  const admin = { ...jsonBodyResponses, ...keyedResponses("admin") };
  const ifMatch = z.object({
    "if-match": z
      .string()
      .regex(/^(W\/)?"?\d{1,15}"?$/)
      .optional()
      .openapi({ description: 'The version, e.g. "3"' }),
  });

  registry.registerPath({
    method: "post",
    path: "/v1/experiments",
    summary: "Create an experiment (draft); admin scope",
    security,
    request: {
      body: { required: true, content: { "application/json": { schema: ExperimentDefinitionSchema } } },
    },
    responses: {
      201: json(ExperimentWriteResponseSchema, "Created; ETag is the version"),
      ...admin,
      ...errors,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments",
    summary: "List experiments; read scope",
    security,
    request: { query: ListQuerySchema },
    responses: {
      200: json(ExperimentListResponseSchema, "Experiments, newest first"),
      400: errors[400],
      ...read,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}",
    summary: "Read one experiment; read scope. ETag is the version",
    security,
    request: {
      params: KeyParam,
      headers: z.object({
        "if-none-match": z.string().optional().openapi({ description: 'The version you hold, e.g. "3"' }),
      }),
    },
    responses: {
      200: json(ExperimentResourceSchema, "The experiment"),
      304: { description: "Unchanged since the version in If-None-Match" },
      400: errors[400],
      404: errors[404],
      ...read,
    },
  });
  registry.registerPath({
    method: "patch",
    path: "/v1/experiments/{key}",
    summary: "Change an experiment; admin scope; needs If-Match or expected_version",
    security,
    request: {
      params: KeyParam,
      headers: ifMatch,
      body: { required: true, content: { "application/json": { schema: PatchBodySchema } } },
    },
    responses: {
      200: json(ExperimentWriteResponseSchema, "Changed"),
      ...admin,
      ...errors,
      428: json(ErrorResponseSchema, "No version sent"),
    },
  });
  for (const action of ["start", "stop", "archive"] as const) {
    registry.registerPath({
      method: "post",
      path: `/v1/experiments/{key}/${action}`,
      summary: `${action[0]!.toUpperCase()}${action.slice(1)} an experiment; admin scope; needs If-Match or expected_version`,
      security,
      request: {
        params: KeyParam,
        headers: ifMatch,
        body: { content: { "application/json": { schema: TransitionBodySchema } } },
      },
      responses: {
        200: json(ExperimentWriteResponseSchema, "Done"),
        ...admin,
        ...errors,
        428: json(ErrorResponseSchema, "No version sent"),
      },
    });
  }
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}/changes",
    summary: "Audit log: every accepted change, who made it and when; read scope",
    security,
    request: { params: KeyParam },
    responses: {
      200: json(ExperimentChangesResponseSchema, "Changes in version order"),
      400: errors[400],
      404: errors[404],
      ...read,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}/assignment",
    summary: "Deterministic variant for a user; records the first exposure unless record=false; read scope",
    security,
    request: { params: KeyParam, query: AssignmentQuerySchema },
    responses: {
      200: json(AssignmentResponseSchema, "The assignment (variant null when not in the experiment)"),
      400: errors[400],
      404: errors[404],
      ...read,
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}/results",
    summary: "Results per metric and variant against control; read scope",
    security,
    request: { params: KeyParam, query: ResultsQuerySchema },
    responses: {
      200: json(ExperimentResultsSchema, "Results"),
      400: errors[400],
      404: errors[404],
      ...read,
      503: json(ErrorResponseSchema, "The analytics store is unavailable, or not opened by this process"),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}/overlap",
    summary:
      "Other running experiments sharing exposed users, with an interaction test per shared metric; read scope",
    security,
    request: { params: KeyParam },
    responses: {
      200: json(OverlapResponseSchema, "Overlap"),
      400: errors[400],
      404: errors[404],
      ...read,
      503: json(ErrorResponseSchema, "The analytics store is unavailable, or not opened by this process"),
    },
  });
  registry.registerPath({
    method: "get",
    path: "/v1/experiments/{key}/power",
    summary:
      "Power and minimum detectable effect per metric and variant from the observed variance and traffic; read scope",
    security,
    request: { params: KeyParam, query: PowerQuerySchema },
    responses: {
      200: json(PowerResponseSchema, "Power"),
      400: errors[400],
      404: errors[404],
      ...read,
      503: json(ErrorResponseSchema, "The analytics store is unavailable, or not opened by this process"),
    },
  });
}
