import { ConfigError } from "../config/env.ts";
import { logger } from "../logger.ts";

/**
 * Where business time comes from: the instant decayed read models are evaluated at (affinities, popularity,
 * trending), merchandising rules are active at, key lifetimes are counted from, experiments start and incoming
 * event times are checked against. Caches, polls, timeouts and rates keep the system clock: they measure
 * elapsed time, not business time.
 *
 * A clock is one object held for the process's life; `now()` allocates nothing.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The machine's clock: what every process runs on unless told otherwise. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock standing still at `atMs`: the same input then gives the same answers whenever it is read. */
export function fixedClock(atMs: number): Clock {
  if (!Number.isFinite(atMs))
    throw new RangeError(`fixedClock: atMs must be a finite number, received ${atMs}`);
  return { now: () => atMs };
}

/** A Date of the clock's now, for the APIs that take one (`now?: () => Date` options). */
export const dateOf = (clock: Clock) => (): Date => new Date(clock.now());

/** The fixed instant already logged (every role of a process asks for the clock). */
let announced: number | undefined;

/**
 * The process's clock from its configuration: `RECKON_FIXED_CLOCK` (ms) stops business time at that instant, for
 * reproducible evaluation and tests; unset, the system clock. A production image (`NODE_ENV=production`) refuses
 * it: a clock that stands still freezes decay, rule windows and experiment times.
 */
export function clockFromConfig(values: {
  RECKON_FIXED_CLOCK?: number | undefined;
  NODE_ENV?: string | undefined;
}): Clock {
  if (values.RECKON_FIXED_CLOCK === undefined) return systemClock;
  if (values.NODE_ENV === "production")
    throw new ConfigError([
      `RECKON_FIXED_CLOCK: must not be set when NODE_ENV is "production" (it is for reproducible evaluation and tests; received ${new Date(values.RECKON_FIXED_CLOCK).toISOString()})`,
    ]);
  if (announced !== values.RECKON_FIXED_CLOCK) {
    announced = values.RECKON_FIXED_CLOCK;
    logger.warn(
      { at: new Date(announced).toISOString() },
      "business time is fixed (RECKON_FIXED_CLOCK): decay, rule windows and experiment times do not advance",
    );
  }
  return fixedClock(values.RECKON_FIXED_CLOCK);
}
