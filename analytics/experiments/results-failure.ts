import type { Response } from "express";
import { logger } from "../../core/logger.ts";
import { AnalysisWindowError } from "../queries/experiment-stats.ts";

/**
 * How experiment and holdout results answer a failed computation: a window too long for the cumulative series is
 * the caller's error (400 naming `from`); anything else is the analytics store's (503, logged).
 */
export function sendResultsFailure(
  res: Response,
  err: unknown,
  from: string | undefined,
  context: Record<string, string>,
): void {
  if (err instanceof AnalysisWindowError) {
    const errors = [{ field: "from", rule: err.message, received: from ?? null }];
    res.status(400).json({ error: "invalid_request", message: `from: ${err.message}`, errors });
    return;
  }
  logger.error({ err, ...context }, "results failed");
  res
    .status(503)
    .json({ error: "unavailable", message: `could not compute results: ${(err as Error).message}` });
}
