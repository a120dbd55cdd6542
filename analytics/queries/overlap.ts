// Users exposed to two experiments, split by their variant in each, with experiment A's per-user
// values of the metrics both define (from the per-user totals the analytics projection keeps for
// running experiments; A's window and covariate rules apply).
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { ExperimentDefinition, Metric } from "../../ingest/experiments/index.ts";
import { definitionHash, firstExposure } from "../../projectors/analytics/experiment-totals-sql.ts";

/** A metric both experiments define under the same key, type and event type (mean or conversion). */
export interface SharedMetric {
  readonly key: string;
  readonly type: "conversion" | "mean";
  /** Position in A's definition (its per-user totals are stored in this order). */
  readonly index: number;
}

export interface OverlapCell {
  readonly variantA: string;
  readonly variantB: string;
  readonly n: number;
  /** metric key → Σ and Σ² of A's per-user values in this cell. */
  readonly sums: Readonly<Record<string, { readonly sum: number; readonly sumSquares: number }>>;
}

export function sharedMetrics(a: ExperimentDefinition, b: ExperimentDefinition): SharedMetric[] {
  const same = (x: Metric, y: Metric) =>
    x.type === y.type &&
    (x.type === "conversion" || x.type === "mean") &&
    "event_type" in y &&
    x.event_type === y.event_type;
  const out: SharedMetric[] = [];
  a.metrics.forEach((metric, index) => {
    const other = b.metrics.find((m) => m.key === metric.key);
    if (other && same(metric, other) && (metric.type === "conversion" || metric.type === "mean")) {
      out.push({ key: metric.key, type: metric.type, index });
    }
  });
  return out;
}

/** Cells (A's variant × B's variant) of users exposed to both before `end`. */
export async function loadOverlapCells(
  ch: ClickHouseStore,
  a: ExperimentDefinition,
  b: ExperimentDefinition,
  end: Date,
  database = "reckon",
): Promise<OverlapCell[]> {
  const metrics = sharedMetrics(a, b);
  const sums = metrics.flatMap((m, j) => [
    `sum(t.post[${m.index + 1}]) AS s${j}`,
    `sum(t.post[${m.index + 1}] * t.post[${m.index + 1}]) AS q${j}`,
  ]);
  const sql = `
WITH b AS (
    SELECT user_id, toString(${firstExposure("variant")}) AS vb
    FROM ${database}.events FINAL
    WHERE type = 'exposure' AND experiment_key = {b:String} AND occurred_at < {end:DateTime64(3, 'UTC')}
    GROUP BY user_id
)
SELECT t.variant AS va, b.vb AS vb, count() AS n${sums.length > 0 ? `, ${sums.join(", ")}` : ""}
FROM ${database}.experiment_user_totals AS t FINAL
INNER JOIN b ON t.user_id = b.user_id
WHERE t.experiment_key = {a:String} AND t.def_hash = {hash:String}
GROUP BY va, vb
ORDER BY va, vb`;
  const rows = await ch.query<Record<string, string | number>>(sql, {
    a: a.key,
    b: b.key,
    hash: definitionHash(a),
    end: end.toISOString().replace("T", " ").replace("Z", ""),
  });
  return rows.map((row) => ({
    variantA: String(row.va),
    variantB: String(row.vb),
    n: Number(row.n),
    sums: Object.fromEntries(
      metrics.map((m, j) => [m.key, { sum: Number(row[`s${j}`]), sumSquares: Number(row[`q${j}`]) }]),
    ),
  }));
}
