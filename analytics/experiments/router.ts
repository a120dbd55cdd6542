// The experiments HTTP API: management (admin), reads, assignment and results (read). Business rules
// live in the decider (ingest/experiments), persistence in repository.ts, numbers in results.ts.
import { Router, type Request, type Response } from "express";
import type { z } from "zod";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { auditCommand, describeKeyedAggregate } from "../../core/audit/audit-command.ts";
import { formatPositionToken } from "../../core/contracts/position.ts";
import { toFieldErrors } from "../../core/contracts/validation.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { createAssigner, type Assignment } from "../../serving/assignment/index.ts";
import {
  EXPERIMENT_ERROR_HTTP_STATUS,
  isExperimentError,
  type ExistingExperiment,
  type ExperimentCommand,
  type ExperimentDefinition,
  type ExperimentDefinitionInput,
  SlugSchema,
} from "../../ingest/experiments/index.ts";
import { ExperimentRepository } from "./repository.ts";
import { buildResults, type ExperimentStatistics } from "./results.ts";
import { buildPower } from "./power.ts";
import { buildOverlap } from "./overlap.ts";
import type { OverlapCell } from "../queries/overlap.ts";
import { exposureEvent } from "../../serving/assignment/exposure.ts";
import { HoldoutGate } from "../../serving/experiments/holdout-gate.ts";
import {
  AssignmentQuerySchema,
  ListQuerySchema,
  PatchBodySchema,
  PowerQuerySchema,
  ResultsQuerySchema,
  TransitionBodySchema,
} from "./api-schemas.ts";
import { logger } from "../../core/logger.ts";
import { BREAKDOWN_DIMENSIONS } from "../queries/experiment-sql.ts";
import { sendResultsFailure } from "./results-failure.ts";
import { parseAsOf } from "../../core/contracts/as-of.ts";

export interface StatisticsRequest {
  readonly now: Date;
  readonly from?: Date | undefined;
  readonly to?: Date | undefined;
  readonly breakdown?: string | undefined;
  readonly cumulative: boolean;
  /** A running experiment read as of now (no `to`): every projected event counts. */
  readonly open?: boolean;
  /** `as_of`: computed over the analytics tables as they were at this time, rebuilt from the log. */
  readonly asOf?: Date | undefined;
}

/** Where per-variant sufficient statistics come from (ClickHouse in production). */
export type StatisticsSource = (
  experiment: ExistingExperiment,
  request: StatisticsRequest,
) => Promise<ExperimentStatistics>;

export interface ExperimentsRouterOptions {
  db: Database;
  keys: ApiKeys;
  /** Absent: the results endpoint answers 503 (e.g. a process without the analytics store). */
  statistics?: StatisticsSource | undefined;
  /** Users shared with another experiment (analytics/queries/overlap); absent: /overlap answers 503. */
  overlap?: OverlapSource | undefined;
  now?: () => Date;
  /** Holdout precedence for the assignment endpoint; default: one reading the same database. */
  holdouts?: HoldoutGate;
}

export type OverlapSource = (
  experiment: ExperimentDefinition,
  other: ExperimentDefinition,
  end: Date,
) => Promise<OverlapCell[]>;

/** What every route handler shares. */
interface RouteContext {
  readonly repo: ExperimentRepository;
  readonly now: () => Date;
  readonly options: ExperimentsRouterOptions;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Lifecycle actions: the path segment and the decider command it sends. */
const TRANSITIONS = {
  start: "StartExperiment",
  stop: "StopExperiment",
  archive: "ArchiveExperiment",
} as const;

export function experimentsRouter(options: ExperimentsRouterOptions): Router {
  const context: RouteContext = {
    repo: new ExperimentRepository(options.db),
    now: options.now ?? (() => new Date()),
    options,
  };
  const admin = requireScope(options.keys, "admin");
  const read = requireScope(options.keys, "read");
  const router = Router();
  // A path key that no experiment can have (e.g. %00, which Postgres text cannot hold) is the caller's error.
  router.param("key", (req, res, next, key: string) => {
    const check = SlugSchema.safeParse(key);
    if (check.success) return next();
    const errors = [{ field: "key", rule: check.error.issues[0]!.message, received: key }];
    res.status(400).json({ error: "invalid_request", message: `key: ${errors[0]!.rule}`, errors });
  });

  const audit = (action: string) => auditCommand(options.db, action, describeKeyedAggregate);
  router.post("/v1/experiments", admin, audit("experiment.create"), createExperiment(context));
  router.get("/v1/experiments", read, listExperiments(context));
  router.get("/v1/experiments/:key", read, getExperiment(context));
  router.patch("/v1/experiments/:key", admin, audit("experiment.update"), updateExperiment(context));
  for (const [action, type] of Object.entries(TRANSITIONS)) {
    router.post(
      `/v1/experiments/:key/${action}`,
      admin,
      audit(`experiment.${action}`),
      transitionExperiment(context, type),
    );
  }
  router.get("/v1/experiments/:key/changes", read, listChanges(context));
  router.get("/v1/experiments/:key/assignment", read, assignVariant(context));
  router.get("/v1/experiments/:key/overlap", read, experimentOverlap(context));
  router.get("/v1/experiments/:key/power", read, experimentPower(context));
  router.get("/v1/experiments/:key/results", read, experimentResults(context));
  return router;
}

/** POST /v1/experiments: a new definition, in draft. */
function createExperiment({ repo, now }: RouteContext): Handler {
  return async (req, res) => {
    if (!isPlainObject(req.body))
      return void badBody(res, "the body must be an experiment definition object");
    const command: ExperimentCommand = {
      type: "CreateExperiment",
      data: { api_key_id: req.caller!.keyId, definition: req.body as ExperimentDefinitionInput },
    };
    await run(res, () => repo.execute(command, now()), 201);
  };
}

/** GET /v1/experiments[?status=]. */
function listExperiments({ repo }: RouteContext): Handler {
  return async (req, res) => {
    const query = parse(ListQuerySchema, req.query, res);
    if (!query) return;
    const experiments = await repo.list(query.status);
    res.json({ experiments: experiments.map(resource) });
  };
}

/** GET /v1/experiments/:key, with an ETag (304 on If-None-Match). */
function getExperiment({ repo }: RouteContext): Handler {
  return async (req, res) => {
    const experiment = await repo.get(String(req.params.key));
    if (!experiment) return void notFound(res, String(req.params.key));
    res.set("ETag", `"${experiment.version}"`);
    if (req.get("if-none-match") === `"${experiment.version}"`) return void res.status(304).end();
    res.json(resource(experiment));
  };
}

/** PATCH /v1/experiments/:key: a change based on the version the caller read. */
function updateExperiment({ repo, now }: RouteContext): Handler {
  return async (req, res) => {
    if (!isPlainObject(req.body))
      return void badBody(res, "the body must be an object with the fields to change");
    const body = parse(PatchBodySchema, req.body, res);
    if (!body) return;
    const version = expectedVersion(req, res, body.expected_version);
    if (version === undefined) return;
    // The raw body minus the version goes to the decider, which validates it again on the merged definition.
    const rawPatch = Object.fromEntries(
      Object.entries(req.body as object).filter(([k]) => k !== "expected_version"),
    );
    await run(res, () =>
      repo.execute(
        {
          type: "UpdateExperiment",
          data: {
            experiment_key: String(req.params.key),
            expected_version: version,
            api_key_id: req.caller!.keyId,
            patch: rawPatch,
          },
        },
        now(),
      ),
    );
  };
}

/** POST /v1/experiments/:key/{start,stop,archive}. */
function transitionExperiment(
  { repo, now }: RouteContext,
  type: (typeof TRANSITIONS)[keyof typeof TRANSITIONS],
): Handler {
  return async (req, res) => {
    const body = parse(TransitionBodySchema, req.body ?? {}, res);
    if (!body) return;
    const version = expectedVersion(req, res, body.expected_version);
    if (version === undefined) return;
    await run(res, () =>
      repo.execute(
        {
          type,
          data: {
            experiment_key: String(req.params.key),
            expected_version: version,
            api_key_id: req.caller!.keyId,
          },
        },
        now(),
      ),
    );
  };
}

/** GET /v1/experiments/:key/changes: the definition's history. */
function listChanges({ repo }: RouteContext): Handler {
  return async (req, res) => {
    const key = String(req.params.key);
    const changes = await repo.changes(key);
    if (changes.length === 0) return void notFound(res, key);
    res.json({ key, changes });
  };
}

/**
 * GET /v1/experiments/:key/assignment: the user's variant, recording the exposure unless record=false.
 * Assigners are cached per definition version: a changed experiment gets a fresh one, and the hot path does no
 * validation or range arithmetic per request.
 */
function assignVariant({ repo, now, options }: RouteContext): Handler {
  const assigners = new Map<string, { version: number; assign: (userId: string) => Assignment | null }>();
  const holdouts = options.holdouts ?? new HoldoutGate({ db: options.db, now });
  return async (req, res) => {
    const query = parse(AssignmentQuerySchema, req.query, res);
    if (!query) return;
    const key = String(req.params.key);
    const experiment = await repo.get(key);
    if (!experiment) return void notFound(res, key);
    const base = { experiment_key: key, user_id: query.user_id, status: experiment.status };
    if (experiment.status !== "running") {
      res.json(notAssigned(base, "not_running"));
      return;
    }
    // A holdout comes first: its users never enter the experiments it covers, whatever their bucket.
    const { heldOutBy } = await holdouts.check(key, query.user_id, query.record !== false);
    if (heldOutBy !== null) {
      res.json({
        ...base,
        variant: null,
        in_experiment: false,
        reason: "held_out",
        holdout: heldOutBy,
        bucket: null,
        exposure: null,
        position: null,
      });
      return;
    }
    let cached = assigners.get(key);
    if (cached?.version !== experiment.version) {
      cached = { version: experiment.version, assign: createAssigner(experiment.definition) };
      assigners.set(key, cached);
    }
    const assignment = cached.assign(query.user_id);
    if (!assignment) {
      res.json(notAssigned(base, "not_in_traffic"));
      return;
    }
    const { exposure, position } =
      query.record === false
        ? { exposure: null, position: null }
        : await recordExposure(options.db, key, assignment.variant_key, query.user_id, now());
    res.json({
      ...base,
      variant: assignment.variant_key,
      in_experiment: true,
      reason: "assigned",
      bucket: assignment.bucket,
      exposure,
      position,
    });
  };
}

const notAssigned = (base: object, reason: "not_running" | "not_in_traffic") => ({
  ...base,
  variant: null,
  in_experiment: false,
  reason,
  bucket: null,
  exposure: null,
  position: null,
});

/** Appends the exposure event to the log; its id makes a repeated ask a duplicate, not a second exposure. */
async function recordExposure(db: Database, key: string, variantKey: string, userId: string, at: Date) {
  const event = exposureEvent(key, variantKey, userId, at);
  const appended = await appendInteractionEvents(db, [event]);
  return {
    exposure: { event_id: event.event_id, status: appended.outcomes[0]!.status },
    position: appended.head ? formatPositionToken(appended.head) : null,
  };
}

/** GET /v1/experiments/:key/overlap: other running experiments sharing exposed users, and their interactions. */
function experimentOverlap({ repo, now, options }: RouteContext): Handler {
  return async (req, res) => {
    const key = String(req.params.key);
    const experiment = await repo.get(key);
    if (!experiment) return void notFound(res, key);
    if (!options.overlap) {
      res.status(503).json({
        error: "unavailable",
        message: "overlap needs the analytics store (ClickHouse), which this process has not opened",
      });
      return;
    }
    const at = now();
    try {
      const running = (await repo.list("running")).filter((e) => e.definition.key !== key);
      const others = [];
      for (const other of running) {
        others.push({
          definition: other.definition,
          cells: await options.overlap(experiment.definition, other.definition, at),
        });
      }
      res.json(buildOverlap(experiment.definition, others, at));
    } catch (err) {
      logger.error({ err, experiment: key }, "experiment overlap failed");
      res
        .status(503)
        .json({ error: "unavailable", message: `could not compute the overlap: ${(err as Error).message}` });
    }
  };
}

/** GET /v1/experiments/:key/power: minimum detectable effect and planning from the observed variance and traffic. */
function experimentPower({ repo, now, options }: RouteContext): Handler {
  return async (req, res) => {
    const query = parse(PowerQuerySchema, req.query, res);
    if (!query) return;
    const key = String(req.params.key);
    const experiment = await repo.get(key);
    if (!experiment) return void notFound(res, key);
    if (!options.statistics) {
      res.status(503).json({
        error: "unavailable",
        message: "power needs the analytics store (ClickHouse), which this process has not opened",
      });
      return;
    }
    const at = now();
    const to = experiment.stopped_at ? new Date(experiment.stopped_at) : at;
    const from = experiment.started_at ? new Date(experiment.started_at) : undefined;
    try {
      const statistics = await options.statistics(experiment, {
        now: at,
        from,
        to,
        breakdown: undefined,
        cumulative: false,
        open: experiment.status === "running",
      });
      res.json(
        buildPower(experiment.definition, statistics, {
          window: { from: from?.toISOString() ?? null, to: to.toISOString() },
          ...(query.power === undefined ? {} : { power: query.power }),
          ...(query.effect === undefined ? {} : { effect: query.effect }),
        }),
      );
    } catch (err) {
      logger.error({ err, experiment: key }, "experiment power failed");
      res
        .status(503)
        .json({ error: "unavailable", message: `could not compute power: ${(err as Error).message}` });
    }
  };
}

/** GET /v1/experiments/:key/results: per-variant statistics over the analysis window. */
function experimentResults({ repo, now, options }: RouteContext): Handler {
  return async (req, res) => {
    const query = parse(ResultsQuerySchema, req.query, res);
    if (!query) return;
    const key = String(req.params.key);
    const experiment = await repo.get(key);
    if (!experiment) return void notFound(res, key);
    // Only dimensions captured with the first exposure can split users without double counting.
    const allowed: readonly string[] = BREAKDOWN_DIMENSIONS;
    if (query.breakdown !== undefined && !allowed.includes(query.breakdown)) {
      const errors = [
        { field: "breakdown", rule: `must be one of ${allowed.join(", ")}`, received: query.breakdown },
      ];
      res.status(400).json({ error: "invalid_request", message: errors[0]!.rule, errors });
      return;
    }
    if (!options.statistics) {
      res.status(503).json({
        error: "unavailable",
        message: "results need the analytics store (ClickHouse), which this process has not opened",
      });
      return;
    }
    const asOf = parseAsOf(query.as_of, now());
    if (!asOf.ok) {
      const errors = [asOf.error];
      res.status(400).json({ error: "invalid_request", message: `as_of: ${asOf.error.rule}`, errors });
      return;
    }
    const at = asOf.asOf ?? now();
    // As of a past time, the experiment is as it stood then: a stop after it had not happened yet.
    const stoppedBy = experiment.stopped_at && Date.parse(experiment.stopped_at) <= at.getTime();
    const { from, to } = analysisWindow(
      stoppedBy || !asOf.asOf ? experiment : { ...experiment, stopped_at: null },
      query,
      at,
    );
    const running = asOf.asOf
      ? experiment.started_at !== null && Date.parse(experiment.started_at) <= at.getTime() && !stoppedBy
      : experiment.status === "running";
    try {
      const statistics = await options.statistics(experiment, {
        now: at,
        from,
        to,
        breakdown: query.breakdown,
        cumulative: query.cumulative !== false,
        open: !query.to && running,
        asOf: asOf.asOf,
      });
      res.json(
        buildResults(experiment.definition, statistics, {
          version: experiment.version,
          status: experiment.status,
          computedAt: at,
          window: { from: from?.toISOString() ?? null, to: to.toISOString() },
        }),
      );
    } catch (err) {
      sendResultsFailure(res, err, query.from, { experiment: key });
    }
  };
}

/** Once stopped, the readout is frozen at the stop time unless the caller asks for another window. */
function analysisWindow(
  experiment: ExistingExperiment,
  query: { readonly from?: string | undefined; readonly to?: string | undefined },
  at: Date,
): { from: Date | undefined; to: Date } {
  const to = query.to ? new Date(query.to) : experiment.stopped_at ? new Date(experiment.stopped_at) : at;
  const from = query.from
    ? new Date(query.from)
    : experiment.started_at
      ? new Date(experiment.started_at)
      : undefined;
  return { from, to };
}

function resource(e: ExistingExperiment) {
  return {
    key: e.definition.key,
    version: e.version,
    status: e.status,
    definition: e.definition,
    created_at: e.created_at,
    created_by: e.created_by,
    updated_at: e.updated_at,
    updated_by: e.updated_by,
    started_at: e.started_at,
    stopped_at: e.stopped_at,
    archived_at: e.archived_at,
  };
}

async function run(
  res: Response,
  work: () => Promise<{ state: ExistingExperiment; position: Parameters<typeof formatPositionToken>[0] }>,
  status = 200,
): Promise<void> {
  try {
    const { state, position } = await work();
    res
      .status(status)
      .set("ETag", `"${state.version}"`)
      .json({ ...resource(state), position: formatPositionToken(position) });
  } catch (err) {
    if (!isExperimentError(err)) throw err;
    res
      .status(EXPERIMENT_ERROR_HTTP_STATUS[err.code])
      .json({ error: err.code, message: err.message, errors: err.issues });
  }
}

/** The version a change is based on: If-Match or expected_version (equal when both are sent). */
function expectedVersion(req: Request, res: Response, fromBody: number | undefined): number | undefined {
  const header = req.get("if-match");
  let fromHeader: number | undefined;
  if (header !== undefined) {
    const text = header.replace(/^W\//, "").replace(/"/g, "").trim();
    fromHeader = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(fromHeader)) {
      const errors = [
        { field: "If-Match", rule: 'must be the experiment version, e.g. "3"', received: header },
      ];
      res.status(400).json({ error: "validation", message: errors[0]!.rule, errors });
      return undefined;
    }
  }
  if (fromHeader !== undefined && fromBody !== undefined && fromHeader !== fromBody) {
    const errors = [
      {
        field: "expected_version",
        rule: `must equal If-Match (${fromHeader}) when both are sent`,
        received: fromBody,
      },
    ];
    res.status(400).json({ error: "validation", message: errors[0]!.rule, errors });
    return undefined;
  }
  const version = fromHeader ?? fromBody;
  if (version === undefined) {
    res.status(428).json({
      error: "precondition_required",
      message:
        'send the version you read, as If-Match: "<version>" or expected_version, so a concurrent change is not overwritten',
      errors: [{ field: "expected_version", rule: "required (or the If-Match header)" }],
    });
  }
  return version;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, res: Response): z.output<S> | undefined {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = toFieldErrors(result.error, input);
  res
    .status(400)
    .json({ error: "validation", message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "), errors });
  return undefined;
}

function notFound(res: Response, key: string): void {
  res.status(404).json({ error: "not_found", message: `no experiment ${JSON.stringify(key)}` });
}

function badBody(res: Response, rule: string): void {
  res.status(400).json({ error: "validation", message: rule, errors: [{ field: "(body)", rule }] });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
