/**
 * This process's worker index (0 in the primary or a single process): jobs that must run once use worker 0.
 * `reckon start --workers N` (bin/workers.ts) sets RECKON_WORKER_INDEX in each worker it forks.
 */
export function workerIndex(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.RECKON_WORKER_INDEX ?? 0);
}
