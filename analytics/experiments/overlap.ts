// GET /v1/experiments/:key/overlap, assembled from overlap cells (analytics/queries/overlap.ts):
// per other running experiment, the users exposed to both and, per shared metric and pair of
// treatment variants, the interaction test (analytics/stats interactionTest). Pure.
import { interactionTest, type CellMoments } from "../stats/index.ts";
import { analysisSettingsOf, type ExperimentDefinition } from "../../ingest/experiments/index.ts";
import { sharedMetrics, type OverlapCell } from "../queries/overlap.ts";
import type { OverlapResponse } from "./api-schemas.ts";

export function buildOverlap(
  experiment: ExperimentDefinition,
  others: readonly { readonly definition: ExperimentDefinition; readonly cells: readonly OverlapCell[] }[],
  computedAt: Date,
): OverlapResponse {
  const alpha = analysisSettingsOf(experiment).alpha;
  const overlaps = others
    .map(({ definition: other, cells }) => {
      const usersInBoth = cells.reduce((total, c) => total + c.n, 0);
      const cellOf = (va: string, vb: string) => cells.find((c) => c.variantA === va && c.variantB === vb);
      const treatmentsA = experiment.variants.map((v) => v.key).filter((k) => k !== experiment.control);
      const treatmentsB = other.variants.map((v) => v.key).filter((k) => k !== other.control);
      const metrics = sharedMetrics(experiment, other).map((metric) => {
        const moments = (va: string, vb: string): CellMoments => {
          const c = cellOf(va, vb);
          const s = c?.sums[metric.key];
          if (!c || !s || c.n === 0) return { n: 0, mean: 0, variance: 0 };
          const mean = s.sum / c.n;
          const variance =
            metric.type === "conversion"
              ? mean * (1 - mean)
              : c.n > 1
                ? (s.sumSquares - (s.sum * s.sum) / c.n) / (c.n - 1)
                : 0;
          return { n: c.n, mean, variance };
        };
        const interactions = treatmentsA.flatMap((va) =>
          treatmentsB.map((vb) => {
            const r = interactionTest(
              {
                a0b0: moments(experiment.control, other.control),
                a1b0: moments(va, other.control),
                a0b1: moments(experiment.control, vb),
                a1b1: moments(va, vb),
              },
              alpha,
            );
            return {
              variant: va,
              other_variant: vb,
              estimate: r.estimate,
              ci: [r.ci[0], r.ci[1]] as [number, number],
              p_value: r.pValue,
              stddev: r.stddev,
              error: r.errorCode,
              flagged: r.errorCode === null && r.pValue < alpha,
            };
          }),
        );
        return { key: metric.key, interactions };
      });
      const flagged = metrics.flatMap((m) => m.interactions.filter((i) => i.flagged).map(() => m.key));
      return {
        experiment_key: other.key,
        users_in_both: usersInBoth,
        cells: cells.map((c) => ({ variant: c.variantA, other_variant: c.variantB, users: c.n })),
        metrics,
        warning:
          flagged.length > 0
            ? `interaction with ${other.key} on ${[...new Set(flagged)].join(", ")} (p < ${alpha}): ` +
              "this experiment's lift differs with the other's treatment"
            : null,
      };
    })
    .filter((o) => o.users_in_both > 0);
  return { experiment_key: experiment.key, alpha, computed_at: computedAt.toISOString(), overlaps };
}
