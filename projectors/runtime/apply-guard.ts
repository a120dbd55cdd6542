import type { ProjectionOutcome } from "./projection.ts";

/**
 * Tells a store outage (retry, never lose anything) from a message the store rejects (dead-letter it, move on).
 * Both make `apply` throw, so the store is asked: only when it answers its health check and a single message
 * still fails is that message given up on.
 */

/** A message the store rejected while healthy; already on the dead-letter topic when this is returned. */
export type GuardedOutcome = ProjectionOutcome | { kind: "rejected"; reason: string };

export interface ApplyGuardOptions<T> {
  /** Failed attempts of a whole batch, and of a single message, before the store is asked / the message is given up. */
  isolateAfter: number;
  /** One attempt; must return one outcome per message or throw. */
  apply(messages: readonly T[]): Promise<ProjectionOutcome[]>;
  /** Undefined: the store cannot tell, so every failure is treated as an outage (retried forever). */
  healthy: (() => Promise<boolean>) | undefined;
  /** Waits (keeping the group membership); false when the consumer is stopping or lost the partition. */
  pause(ms: number): Promise<boolean>;
  /** Sends one rejected message to the dead-letter topic now; false when stopping. */
  deadLetter(message: T, reason: string): Promise<boolean>;
  onFailure?(error: Error, messages: number, retryInMs: number): void;
  onUnhealthy?(error: Error): void;
  /** Once per batch that gets bisected. */
  onIsolate?(messages: number): void;
}

const MAX_BACKOFF_MS = 5000;

/**
 * Applies `messages` in order. A failing batch is retried with backoff; after `isolateAfter` failures the
 * store's health decides: unhealthy → keep retrying; healthy → bisect, applying the halves in order, down to
 * the single message that still fails `isolateAfter` times while the store is healthy, which is dead-lettered
 * before anything after it is applied (a position guard would otherwise skip it on a redelivery and it would
 * vanish). Undefined when told to stop: nothing after the returned point may be committed.
 */
export async function applyGuarded<T>(
  messages: readonly T[],
  options: ApplyGuardOptions<T>,
): Promise<GuardedOutcome[] | undefined> {
  const run = async (part: readonly T[], askAfter: number): Promise<GuardedOutcome[] | undefined> => {
    let failures = 0;
    let backoffMs = 100;
    for (;;) {
      let error: Error;
      try {
        return await options.apply(part);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      failures++;
      if (failures >= askAfter && options.healthy) {
        if (!(await options.healthy())) {
          options.onUnhealthy?.(error);
        } else if (part.length > 1) {
          if (part === messages) options.onIsolate?.(part.length);
          const mid = Math.ceil(part.length / 2);
          // Halves are asked after one failure: the whole already failed with a healthy store.
          const left = await run(part.slice(0, mid), 1);
          if (!left) return undefined;
          const right = await run(part.slice(mid), 1);
          return right && [...left, ...right];
        } else if (failures >= options.isolateAfter) {
          const reason = `rejected by the store while it was healthy (${failures} attempts): ${error.message}`;
          if (!(await options.deadLetter(part[0]!, reason))) return undefined;
          return [{ kind: "rejected", reason }];
        }
      }
      options.onFailure?.(error, part.length, backoffMs);
      if (!(await options.pause(backoffMs))) return undefined;
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    }
  };
  return run(messages, options.isolateAfter);
}

/** A health check that answers false instead of hanging or throwing (a client may queue commands while offline). */
export async function checkHealth(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
