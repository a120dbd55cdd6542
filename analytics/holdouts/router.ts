// The holdouts HTTP API: definitions (admin writes, versioned with If-Match) and results (read).
// Assignment precedence lives in serving/experiments/holdout-gate.ts, used by the experiments'
// assignment endpoint and by recommendations with ?experiment=.
import { Router, type Request, type Response } from "express";
import type { Database } from "../../core/postgres/database.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { auditCommand, describeKeyedAggregate } from "../../core/audit/audit-command.ts";
import { toFieldErrors } from "../../core/contracts/validation.ts";
import { EXPERIMENT_ERROR_HTTP_STATUS, isExperimentError } from "../../ingest/experiments/index.ts";
import type { ExistingHoldout, HoldoutCommand } from "../../ingest/holdouts/index.ts";
import type { StatisticsSource } from "../experiments/router.ts";
import { HoldoutRepository } from "./repository.ts";
import { buildHoldoutResults, holdoutAsRunningExperiment } from "./results.ts";
import { HoldoutResultsQuerySchema } from "./api-schemas.ts";
import { sendResultsFailure } from "../experiments/results-failure.ts";

export interface HoldoutsRouterOptions {
  db: Database;
  keys: ApiKeys;
  /** Absent: the results endpoint answers 503 (a process without the analytics store). */
  statistics?: StatisticsSource | undefined;
  now?: () => Date;
}

export function holdoutsRouter(options: HoldoutsRouterOptions): Router {
  const router = Router();
  const repo = new HoldoutRepository(options.db);
  const now = options.now ?? (() => new Date());
  const admin = requireScope(options.keys, "admin");
  const read = requireScope(options.keys, "read");

  const audit = (action: string) => auditCommand(options.db, action, describeKeyedAggregate);
  router.post("/v1/holdouts", admin, audit("holdout.create"), async (req, res) => {
    const command: HoldoutCommand = {
      type: "CreateHoldout",
      data: { api_key_id: req.caller!.keyId, definition: req.body },
    };
    await run(res, () => repo.execute(command, now()), 201);
  });

  router.get("/v1/holdouts", read, async (_req, res) => {
    res.json({ holdouts: (await repo.list()).map(resource) });
  });

  router.get("/v1/holdouts/:key", read, async (req, res) => {
    const holdout = await repo.get(String(req.params.key));
    if (!holdout) return void notFound(res, String(req.params.key));
    res.set("ETag", `"${holdout.version}"`).json(resource(holdout));
  });

  router.patch("/v1/holdouts/:key", admin, audit("holdout.update"), async (req, res) => {
    const version = expectedVersion(req, res);
    if (version === undefined) return;
    const command: HoldoutCommand = {
      type: "UpdateHoldout",
      data: {
        api_key_id: req.caller!.keyId,
        holdout_key: String(req.params.key),
        expected_version: version,
        patch: req.body,
      },
    };
    await run(res, () => repo.execute(command, now()));
  });

  router.post("/v1/holdouts/:key/stop", admin, audit("holdout.stop"), async (req, res) => {
    const version = expectedVersion(req, res);
    if (version === undefined) return;
    const command: HoldoutCommand = {
      type: "StopHoldout",
      data: { api_key_id: req.caller!.keyId, holdout_key: String(req.params.key), expected_version: version },
    };
    await run(res, () => repo.execute(command, now()));
  });

  router.get("/v1/holdouts/:key/results", read, async (req, res) => {
    const parsed = HoldoutResultsQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      const errors = toFieldErrors(parsed.error, req.query);
      res.status(400).json({
        error: "validation",
        message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
        errors,
      });
      return;
    }
    const query = parsed.data;
    const key = String(req.params.key);
    const holdout = await repo.get(key);
    if (!holdout) return void notFound(res, key);
    if (!options.statistics) {
      res.status(503).json({
        error: "unavailable",
        message: "results need the analytics store (ClickHouse), which this process has not opened",
      });
      return;
    }
    const at = now();
    // Once stopped, the readout is frozen at the stop time unless the caller asks for another window.
    const to = query.to ? new Date(query.to) : holdout.stopped_at ? new Date(holdout.stopped_at) : at;
    const from = new Date(query.from ?? holdout.created_at);
    try {
      const statistics = await options.statistics(holdoutAsRunningExperiment(holdout), {
        now: at,
        from,
        to,
        cumulative: query.cumulative !== false,
        open: !query.to && holdout.status === "running",
      });
      res.json(
        buildHoldoutResults(holdout, statistics, {
          computedAt: at,
          window: { from: from.toISOString(), to: to.toISOString() },
        }),
      );
    } catch (err) {
      sendResultsFailure(res, err, query.from, { holdout: key });
    }
  });

  return router;
}

function resource(h: ExistingHoldout) {
  return {
    key: h.definition.key,
    status: h.status,
    version: h.version,
    definition: h.definition,
    created_at: h.created_at,
    created_by: h.created_by,
    updated_at: h.updated_at,
    updated_by: h.updated_by,
    stopped_at: h.stopped_at,
  };
}

async function run(res: Response, work: () => Promise<ExistingHoldout>, status = 200): Promise<void> {
  try {
    const state = await work();
    res.status(status).set("ETag", `"${state.version}"`).json(resource(state));
  } catch (err) {
    if (!isExperimentError(err)) throw err;
    res
      .status(EXPERIMENT_ERROR_HTTP_STATUS[err.code])
      .json({ error: err.code, message: err.message, errors: err.issues });
  }
}

/** The version a change is based on, from If-Match; answers 400 or 428 itself when it is bad or missing. */
function expectedVersion(req: Request, res: Response): number | undefined {
  const header = req.get("if-match");
  if (header === undefined) {
    res.status(428).json({
      error: "precondition_required",
      message:
        'send the version you read as If-Match: "<version>", so a concurrent change is not overwritten',
      errors: [{ field: "If-Match", rule: "required" }],
    });
    return undefined;
  }
  const text = header.replace(/^W\//, "").replace(/"/g, "").trim();
  const version = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(version)) {
    const errors = [{ field: "If-Match", rule: 'must be the holdout version, e.g. "3"', received: header }];
    res.status(400).json({ error: "validation", message: errors[0]!.rule, errors });
    return undefined;
  }
  return version;
}

function notFound(res: Response, key: string): void {
  res.status(404).json({ error: "not_found", message: `no holdout ${JSON.stringify(key)}` });
}
