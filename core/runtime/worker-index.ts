import { loadVariables, type RawEnv } from "../config/env.ts";

/**
 * A process's worker index (RECKON_WORKER_INDEX, which `reckon start --workers N` sets in each worker it forks;
 * 0 in the primary or a single process): jobs that must run once use worker 0.
 */
export const workerIndex = (source: RawEnv): number =>
  loadVariables(["RECKON_WORKER_INDEX"], source).RECKON_WORKER_INDEX;
