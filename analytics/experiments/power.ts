// GET /v1/experiments/:key/power from the same per-variant statistics as the results: per metric
// and variant, the minimum detectable relative lift at the users so far, and for a planned lift its
// power now and the users and days it needs at the observed traffic. Pure, like results.ts.
import { minimumDetectableEffect, pairMoments, powerAt, usersNeeded, type ArmStats } from "../stats/index.ts";
import { analysisSettingsOf, type ExperimentDefinition } from "../../ingest/experiments/index.ts";
import { armOrder, type PopulationStatistics } from "./results.ts";
import type { PowerResponse } from "./api-schemas.ts";

const DAY_MS = 86_400_000;

export interface PowerContext {
  readonly window: { readonly from: string | null; readonly to: string };
  /** Target power (default 0.8). */
  readonly power?: number;
  /** A relative lift to plan for. */
  readonly effect?: number;
}

export function buildPower(
  definition: ExperimentDefinition,
  statistics: PopulationStatistics,
  context: PowerContext,
): PowerResponse {
  const settings = analysisSettingsOf(definition);
  const alpha = settings.alpha;
  const sides: 1 | 2 = settings.test === "one_sided" && !definition.sequential ? 1 : 2;
  const power = context.power ?? 0.8;
  const effect = context.effect ?? null;
  const arms = armOrder(definition);
  const users = arms.reduce((total, arm) => total + (statistics.users[arm] ?? 0), 0);
  const from = context.window.from ? Date.parse(context.window.from) : null;
  const daysObserved = from === null ? 0 : Math.max(0, (Date.parse(context.window.to) - from) / DAY_MS);
  const usersPerDay = daysObserved > 0 ? users / daysObserved : 0;
  const weightOf = new Map(definition.variants.map((v) => [v.key, v.weight]));

  const metrics = definition.metrics.map((metric) => {
    const byArm = statistics.metrics[metric.key] ?? {};
    const control = byArm[arms[0]!];
    const variants = arms.slice(1).map((variant) => {
      const stats = byArm[variant];
      const base = {
        variant,
        users: { control: control?.n ?? 0, variant: stats?.n ?? 0 },
      };
      if (!control || !stats || !comparable(control, stats)) {
        return { ...base, baseline_mean: 0, variance: 0, ...unplannable() };
      }
      const pair = pairMoments(control, stats);
      const mean = pair.control.unadjustedMean;
      const variance = pair.control.variance;
      if (mean === 0 || variance <= 0 || pair.control.n < 2 || pair.variant.n < 2) {
        return { ...base, baseline_mean: mean, variance, ...unplannable() };
      }
      const inputs = {
        mean,
        variance,
        controlUsers: pair.control.n,
        variantUsers: pair.variant.n,
        alpha,
        sides,
      };
      const mde = minimumDetectableEffect(inputs, power);
      let planned = { power_at_effect: null, users_needed: null, days_needed: null } as {
        power_at_effect: number | null;
        users_needed: number | null;
        days_needed: number | null;
      };
      if (effect !== null) {
        const needed = usersNeeded(
          { mean, variance, alpha, sides },
          effect,
          {
            controlShare: weightOf.get(arms[0]!) ?? 0,
            variantShare: weightOf.get(variant) ?? 0,
          },
          power,
        );
        const remaining = Math.max(0, needed - users);
        planned = {
          power_at_effect: powerAt(inputs, effect),
          users_needed: needed,
          days_needed: remaining === 0 ? 0 : usersPerDay > 0 ? remaining / usersPerDay : null,
        };
      }
      return { ...base, baseline_mean: mean, variance, mde: Number.isFinite(mde) ? mde : null, ...planned };
    });
    return { key: metric.key, type: metric.type, guardrail: metric.guardrail, variants };
  });

  return {
    experiment_key: definition.key,
    alpha,
    sides,
    power,
    effect,
    window: { from: context.window.from, to: context.window.to },
    days_observed: daysObserved,
    users,
    users_per_day: usersPerDay,
    metrics,
    note:
      "Fixed-horizon power of the relative lift, assuming the variant shares the control's variance " +
      "(CUPED-adjusted when the results adjust); a sequential experiment needs more users than this.",
  };
}

function comparable(a: ArmStats, b: ArmStats): boolean {
  return a.kind === b.kind;
}

function unplannable() {
  return { mde: null, power_at_effect: null, users_needed: null, days_needed: null };
}
