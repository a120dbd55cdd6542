import { logger } from "../../core/logger.ts";
import type { RankingMetricsReport } from "./train.ts";

/** What a periodic retrain needs to know to decide whether the new model replaces the active one. */
export interface RetrainMetrics {
  new: RankingMetricsReport;
  /** The documented heuristic, which ranks whenever no model is active, on the same held-out slice. */
  heuristic?: RankingMetricsReport;
  active?: RankingMetricsReport & { version: number };
}

/**
 * A retrained model is activated only when it ranks the later, held-out slice better (higher AUC) than both the
 * heuristic and the active model. A tie keeps what runs: swapping costs a reload and gains nothing.
 */
export function shouldActivate(metrics: RetrainMetrics): boolean {
  if (!Number.isFinite(metrics.new.auc)) return false;
  const beats = (other: RankingMetricsReport | undefined) =>
    !other || !Number.isFinite(other.auc) || metrics.new.auc > other.auc;
  return beats(metrics.heuristic) && beats(metrics.active);
}

export interface RetrainScheduleOptions {
  intervalMs: number;
  /** Trains and registers (without activating) a model; returns its version and evaluation. */
  train: () => Promise<{ version: number; metrics: RetrainMetrics }>;
  activate: (version: number) => Promise<void>;
}

/**
 * Recomputes the batch artifact and the ranking model from the log every `intervalMs` (and never twice at
 * once); `reckon train` does the same on demand. Returns a stop function.
 */
export function startRetrainSchedule(options: RetrainScheduleOptions): () => Promise<void> {
  const log = logger.child({ component: "retrain" });
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = (async () => {
      try {
        const { version, metrics } = await options.train();
        const activate = shouldActivate(metrics);
        if (activate) await options.activate(version);
        log.info(
          { version, activated: activate, new: metrics.new, active: metrics.active },
          "periodic retrain done",
        );
      } catch (err) {
        // Too little data yet, or a store hiccup: the active model keeps serving; the next tick tries again.
        log.warn({ err: (err as Error).message }, "periodic retrain skipped");
      } finally {
        running = undefined;
      }
    })();
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
