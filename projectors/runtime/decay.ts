import type { HalfLife } from "../../core/read-models/features-config.ts";

export type { HalfLife };
/**
 * Exponentially time-decayed sums that are exact and independent of the order in which events are applied.
 *
 * A decayed sum at time τ is Σ w·2^((t_e − τ)/h). Stored as floats, adding contributions in another order
 * changes the last bits, and a single reference time overflows after a few hundred half-lives. So time is cut
 * into windows of WINDOW_HALF_LIVES half-lives; an event adds the integer round(w·2^((t_e − start_k)/h)·SCALE)
 * to the counter of its window k (integers add exactly in any order). A reader combines the last few windows:
 * value(τ) = Σ_k V_k·2^((start_k − τ)/h)/SCALE. Windows older than READ_WINDOWS back weigh < 2^-12 and are
 * allowed to expire.
 */

/** Window length in half-lives: a contribution is at most 2^4·SCALE, so a window holds 2^35 events in int64. */
export const WINDOW_HALF_LIVES = 4;
/** Fixed-point scale: 2^20 gives ~1e-6 resolution per unit weight. */
export const SCALE = 2 ** 20;
/** Windows a reader combines (current and two older). */
export const READ_WINDOWS = 3;

export const windowMs = (h: HalfLife) => h.ms * WINDOW_HALF_LIVES;

export const windowIndex = (h: HalfLife, eventMs: number) => Math.floor(eventMs / windowMs(h));

/** The integer an event of weight `weight` at `eventMs` adds to its window's counter. */
export function windowIncrement(h: HalfLife, eventMs: number, weight = 1): number {
  const k = windowIndex(h, eventMs);
  const exponent = (eventMs - k * windowMs(h)) / h.ms;
  return Math.round(weight * 2 ** exponent * SCALE);
}

/** Decayed value at `atMs` from window counters (window index → stored integer). */
export function decayedValue(h: HalfLife, counters: ReadonlyMap<number, number>, atMs: number): number {
  let sum = 0;
  for (const [k, v] of counters) sum += v * 2 ** ((k * windowMs(h) - atMs) / h.ms);
  return sum / SCALE;
}

/** The window indices a reader at `atMs` looks at, newest first. */
export function readWindows(h: HalfLife, atMs: number): number[] {
  const k = windowIndex(h, atMs);
  return Array.from({ length: READ_WINDOWS }, (_, i) => k - i);
}

/**
 * How long a window's keys must live (ms from `nowMs`): until they stop being read, and never less than
 * `floorMs` so that a replay of old history stays inspectable for a while.
 */
export function windowTtlMs(h: HalfLife, k: number, nowMs: number, floorMs: number): number {
  const lastReadAt = (k + READ_WINDOWS) * windowMs(h);
  return Math.max(lastReadAt - nowMs, floorMs);
}
