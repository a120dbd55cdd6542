import { logger } from "../../core/logger.ts";

/** What a periodic retrain needs to know to decide whether the new model replaces the active one. */
export interface RetrainMetrics {
  /** The list-quality gate's verdict (list-gate.ts): nDCG@10 and recall@10 on held-out users, both protocols. */
  gate: { activate: boolean; reason: string };
}

/** The gate's verdict: a ranker goes live only when its served list beats the current one's (never on AUC). */
export function shouldActivate(metrics: RetrainMetrics): boolean {
  return metrics.gate.activate;
}

export interface RetrainScheduleOptions {
  intervalMs: number;
  /** Trains and registers (without activating) a model; returns its version and evaluation. */
  train: () => Promise<{ version: number; metrics: RetrainMetrics }>;
  activate: (version: number) => Promise<void>;
  /** Records the verdict (activated or refused, and why) in the audit log. */
  audit: (version: number, activated: boolean, reason: string) => Promise<void>;
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
        await options.audit(version, activate, metrics.gate.reason);
        log.info({ version, activated: activate, reason: metrics.gate.reason }, "periodic retrain done");
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
