// The recommender metrics API (read scope): GET /v1/recommenders/metrics and, for a recommendation experiment,
// GET /v1/recommenders/experiments/:key/metrics with the variants' verdict. Numbers: metrics.ts; SQL:
// attribution-sql.ts; the attribution rule: attribution.ts.
import { Router, type Response } from "express";
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import { toFieldErrors, type FieldError } from "../../core/contracts/validation.ts";
import { type ApiKeys, requireScope } from "../../core/http/auth.ts";
import { logger } from "../../core/logger.ts";
import type { Database } from "../../core/postgres/database.ts";
import type { ExistingExperiment } from "../../ingest/experiments/index.ts";
import { loadGroupSums, type AttributionWindow } from "./attribution-sql.ts";
import { compareVariants, groupMetrics } from "./metrics.ts";
import {
  MAX_RANGE_DAYS,
  RecommenderMetricsQuerySchema,
  type RecommenderMetricsQuery,
} from "./api-schemas.ts";

const DAY = 86_400_000;
const ALPHA = 0.05;
/** What ClickHouse's DateTime64(3) holds without wrapping, with room for the window added to `to`. */
const EARLIEST = 0;
const LATEST = Date.UTC(2261, 11, 31, 23, 59, 59, 999);
/** What counts as a click and as a conversion (its `value` is the revenue). */
export const CLICK_TYPES = ["click"] as const;
export const CONVERSION_TYPES = ["purchase"] as const;

export interface RecommendersRouterOptions {
  db: Database;
  keys: ApiKeys;
  /** The analytics store; absent: 503. */
  clickhouse?: () => Promise<ClickHouseStore>;
  /** RECKON_ATTRIBUTION_WINDOW_MINUTES. */
  windowMinutes: number;
  now?: () => Date;
}

export function recommendersRouter(options: RecommendersRouterOptions): Router {
  const router = Router();
  const read = requireScope(options.keys, "read");
  const now = options.now ?? (() => new Date());

  router.get("/v1/recommenders/metrics", read, async (req, res) => {
    const window = parseWindow(req.query, res, now(), undefined);
    if (!window) return;
    const ch = await openStore(options, res);
    if (!ch) return;
    try {
      const rows = await loadGroupSums(ch, window);
      res.json({ ...describe(window), groups: rows.map((r) => groupMetrics(r, ALPHA)) });
    } catch (err) {
      unavailable(res, err);
    }
  });

  router.get("/v1/recommenders/experiments/:key/metrics", read, async (req, res) => {
    const key = String(req.params.key);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(key)) {
      return void invalid(res, [
        { field: "key", rule: "must be a slug: letters, digits, _ . -", received: key },
      ]);
    }
    const { rows } = await options.db.query<{ state: ExistingExperiment }>(
      "SELECT state FROM experiments WHERE key = $1",
      [key],
    );
    const experiment = rows[0]?.state;
    if (!experiment) {
      return void res
        .status(404)
        .json({ error: "not_found", message: `no experiment ${JSON.stringify(key)}` });
    }
    const window = parseWindow(req.query, res, now(), experiment);
    if (!window) return;
    const ch = await openStore(options, res);
    if (!ch) return;
    try {
      const sums = await loadGroupSums(ch, { ...window, experimentKey: key });
      const definition = experiment.definition;
      res.json({
        ...describe(window),
        experiment: key,
        status: experiment.status,
        groups: sums.map((r) => groupMetrics(r, ALPHA)),
        verdict: compareVariants(
          sums,
          definition.control,
          definition.variants.map((v) => v.key),
          ALPHA,
        ),
      });
    } catch (err) {
      unavailable(res, err);
    }
  });

  /**
   * The query's window: `to` defaults to now (an experiment's: its stop), `from` to 7 days before `to` (an
   * experiment's: its start); from < to, at most MAX_RANGE_DAYS apart.
   */
  function parseWindow(
    input: unknown,
    res: Response,
    at: Date,
    experiment: ExistingExperiment | undefined,
  ): (AttributionWindow & { k: number }) | undefined {
    const parsed = RecommenderMetricsQuerySchema.safeParse(input);
    if (!parsed.success) return void invalid(res, toFieldErrors(parsed.error, input));
    const q: RecommenderMetricsQuery = parsed.data;
    const to = q.to ? new Date(q.to) : experiment?.stopped_at ? new Date(experiment.stopped_at) : at;
    const from = q.from
      ? new Date(q.from)
      : experiment?.started_at
        ? new Date(experiment.started_at)
        : new Date(to.getTime() - 7 * DAY);
    for (const [field, value] of [
      ["from", from],
      ["to", to],
    ] as const) {
      const ms = value.getTime();
      if (!(ms >= EARLIEST && ms <= LATEST)) {
        return void invalid(res, [
          { field, rule: "must be a date-time from 1970 to 2261 (UTC)", received: q[field] ?? null },
        ]);
      }
    }
    if (from.getTime() >= to.getTime()) {
      return void invalid(res, [
        { field: "from", rule: "must be before to", received: q.from ?? from.toISOString() },
      ]);
    }
    if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY) {
      return void invalid(res, [
        { field: "from", rule: `must be at most ${MAX_RANGE_DAYS} days before to`, received: q.from ?? null },
      ]);
    }
    return {
      from,
      to,
      k: q.k ?? 10,
      windowMs: (q.window_minutes ?? options.windowMinutes) * 60_000,
      clickTypes: CLICK_TYPES,
      conversionTypes: CONVERSION_TYPES,
    };
  }

  return router;
}

async function openStore(
  options: RecommendersRouterOptions,
  res: Response,
): Promise<ClickHouseStore | undefined> {
  if (!options.clickhouse) {
    res.status(503).json({
      error: "unavailable",
      message: "recommender metrics need the analytics store (ClickHouse), which this process has not opened",
    });
    return undefined;
  }
  try {
    return await options.clickhouse();
  } catch (err) {
    unavailable(res, err);
    return undefined;
  }
}

function describe(w: AttributionWindow & { k: number }) {
  return {
    from: w.from.toISOString(),
    to: w.to.toISOString(),
    k: w.k,
    window_minutes: w.windowMs / 60_000,
    click_types: [...w.clickTypes],
    conversion_types: [...w.conversionTypes],
  };
}

function invalid(res: Response, errors: FieldError[]): void {
  res.status(400).json({
    error: "invalid_request",
    message: errors.map((e) => `${e.field}: ${e.rule}`).join("; "),
    errors,
  });
}

function unavailable(res: Response, err: unknown): void {
  logger.error({ err }, "recommender metrics failed");
  res.status(503).json({
    error: "unavailable",
    message: `could not compute recommender metrics: ${(err as Error).message}`,
  });
}
