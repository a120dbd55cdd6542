import { defaultsOf, loadVariables, type RawEnv } from "../../core/config/env.ts";

/**
 * How many events one Redis batch script may apply, so that one call holds Redis for about `budgetMs`.
 *
 * Redis runs a script to the end before it serves anyone else. A consumer batch of 2,000 events with a
 * catalog costs the features script ≈ 0.1 ms an event: one ≈ 190 ms call, during which every other client of
 * that Redis (a serving request makes one round trip) waits. That happens whenever the projectors have a
 * backlog: at high ingest, after a restart, and for the whole of a `reckon replay`. Measured with a reader
 * beside the features projection applying 2,000-event batches back to back (docs/architecture/projections.md): a GET
 * waited 276 ms at the median and 337 ms at p99 with one call per batch, 10.7 and 20 ms with a 10 ms budget.
 *
 * The cost per event differs by projection and data (categories per item, history lengths), so the chunk is
 * sized from what the script itself measured (Redis `TIME` at its start and end, so neither the round trip
 * nor this process's own stalls count): a moving average of microseconds per event.
 *
 * **Off by default** (`RECKON_REDIS_SCRIPT_BUDGET_MS=0`: one call per consumer batch), because the price is
 * paid where this project's goals are measured. Smaller calls merge less (one PEXPIRE per key and call,
 * summed increments per call: ≈ 18 % more Redis CPU per event at 10 ms), and a batch becomes a chain of
 * dependent round trips, each waiting for the projector's event loop: on the 2-core bench machine, saturated
 * at 4,000 events/s, the user-history p99 went from 4.5–7.1 s to 9.3 s (50 ms budget), 14 s (25 ms) and
 * 17–21 s (10 ms), and `reckon replay` of features ran 27 % slower. Set it where serving shares the Redis
 * with the projectors and a read's tail matters more than catch-up speed; with cores to spare the round trips
 * cost little.
 */
export const DEFAULT_SCRIPT_BUDGET_MS = defaultsOf([
  "RECKON_REDIS_SCRIPT_BUDGET_MS",
]).RECKON_REDIS_SCRIPT_BUDGET_MS;

export interface ScriptBudgetLimits {
  /** Fewest events per call, whatever the measurement says (bounds the per-call overhead). */
  min: number;
  /** Most events per call (the consumer's batch size). */
  max: number;
  /** Events in the first call, before anything was measured. */
  initial: number;
}

const DEFAULT_LIMITS: ScriptBudgetLimits = { min: 16, max: 2000, initial: 100 };

/** Weight of the newest observation in the moving average of microseconds per event. */
const SMOOTHING = 0.5;

export class ScriptBudget {
  private microsPerEvent: number | undefined;
  private readonly limits: ScriptBudgetLimits;

  /** `budgetMs` 0 turns the bound off: every batch is one call, as large as the consumer hands over. */
  constructor(
    readonly budgetMs: number,
    limits: Partial<ScriptBudgetLimits> = {},
  ) {
    if (!Number.isFinite(budgetMs) || budgetMs < 0)
      throw new Error(`script budget: must be a number of milliseconds ≥ 0 (received ${budgetMs})`);
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Events the next call may carry. */
  next(): number {
    const { min, max, initial } = this.limits;
    if (this.budgetMs === 0) return Number.POSITIVE_INFINITY;
    if (this.microsPerEvent === undefined) return initial;
    const fits = Math.floor((this.budgetMs * 1000) / Math.max(this.microsPerEvent, 1e-3));
    return Math.min(max, Math.max(min, fits));
  }

  /** What one call cost inside Redis: `events` applied in `micros` microseconds. */
  observe(events: number, micros: number): void {
    if (events <= 0 || !(micros >= 0)) return;
    const perEvent = micros / events;
    this.microsPerEvent =
      this.microsPerEvent === undefined
        ? perEvent
        : SMOOTHING * perEvent + (1 - SMOOTHING) * this.microsPerEvent;
  }
}

/** `RECKON_REDIS_SCRIPT_BUDGET_MS` from raw variables (default 0 = one call per consumer batch). */
export const scriptBudgetMsFromEnv = (source: RawEnv): number =>
  loadVariables(["RECKON_REDIS_SCRIPT_BUDGET_MS"], source).RECKON_REDIS_SCRIPT_BUDGET_MS;
