import cluster from "node:cluster";
import { logger } from "../core/logger.ts";
import type { RoleName } from "../core/runtime/role.ts";

/**
 * Roles that may run in several processes behind one port: stateless HTTP over shared stores. The relay keeps one
 * checkpoint, the projectors split Kafka partitions by group membership, and the analytics role may hold the
 * in-process ClickHouse engine (one process per data directory), so they run once.
 */
export const REPLICABLE_ROLES: readonly RoleName[] = ["serving", "ingest"];

/** Why `roles` cannot run in `workers` processes, or undefined when they can. */
export function workersProblem(roles: readonly RoleName[], workers: number): string | undefined {
  if (!Number.isInteger(workers) || workers < 1)
    return `--workers: must be a whole number ≥ 1 (received "${workers}")`;
  if (workers === 1) return undefined;
  const single = roles.filter((r) => !REPLICABLE_ROLES.includes(r));
  if (single.length > 0)
    return `--workers ${workers}: only ${REPLICABLE_ROLES.join(", ")} can run in several processes; run ${single.join(", ")} in another \`reckon start --roles\` process`;
  return undefined;
}

/**
 * Forks `workers` processes that each run `start()`; they share the listening port (node:cluster hands
 * connections out round-robin). A worker that dies unexpectedly is replaced; SIGINT/SIGTERM is passed on and
 * the primary exits once every worker has finished its graceful stop.
 */
export function runWorkers(workers: number): void {
  let stopping = false;
  const fork = (index: number) => {
    const worker = cluster.fork({ RECKON_WORKER_INDEX: String(index) });
    worker.on("exit", (code, signal) => {
      if (stopping) return;
      logger.error({ index, code, signal }, "worker exited; starting a new one");
      setTimeout(() => fork(index), 1000);
    });
  };
  for (let i = 0; i < workers; i++) fork(i);
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  cluster.on("exit", () => {
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
}

export const isPrimary = () => cluster.isPrimary;
