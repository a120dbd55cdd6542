/**
 * A rate limit: at most `limit` units per `windowMs`, refilled continuously (a token bucket that holds `limit`
 * units and gains one every `windowMs / limit` ms).
 */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** What taking `cost` units from a bucket came to. All times are in ms from `now`. */
export type Take =
  | { allowed: true; remaining: number }
  | {
      allowed: false;
      /** Units available now (less than the cost asked). */
      remaining: number;
      /** When the cost will fit; Infinity when it is more than the bucket holds. */
      retryAfterMs: number;
      /** When the bucket is full again. */
      resetMs: number;
    };

/** Float slack for limits whose emission interval is not a whole number of ms (e.g. 3 per second). */
const EPSILON_MS = 1e-6;

/**
 * The generic cell rate algorithm: one number per key (the theoretical arrival time of the next unit), O(1) per
 * call, no timers. A refused take costs nothing. The clock is passed in, so tests are exact. Memory is bounded:
 * past `maxKeys`, keys whose bucket is full again (their state equals a fresh key's) are dropped, then the
 * oldest ones.
 */
export class Gcra {
  private readonly interval: number;
  private readonly arrivals = new Map<string, number>();

  constructor(
    readonly rate: RateLimit,
    private readonly maxKeys = 100_000,
  ) {
    if (!(rate.limit > 0) || !(rate.windowMs > 0))
      throw new Error(`a rate limit needs limit > 0 and windowMs > 0 (received ${JSON.stringify(rate)})`);
    this.interval = rate.windowMs / rate.limit;
  }

  /** Takes `cost` units for `key` at `now` (ms), or refuses without taking any. */
  take(key: string, now: number, cost = 1): Take {
    return this.decide(key, now, cost, true);
  }

  /** What `take` would answer, without taking anything. */
  peek(key: string, now: number, cost = 1): Take {
    return this.decide(key, now, cost, false);
  }

  private decide(key: string, now: number, cost: number, commit: boolean): Take {
    const arrival = Math.max(this.arrivals.get(key) ?? now, now);
    const next = arrival + cost * this.interval;
    if (next - now <= this.rate.windowMs + EPSILON_MS) {
      if (commit) {
        if (!this.arrivals.has(key) && this.arrivals.size >= this.maxKeys) this.evict(now);
        this.arrivals.set(key, next);
      }
      return { allowed: true, remaining: this.unitsLeft(next - now) };
    }
    return {
      allowed: false,
      remaining: this.unitsLeft(arrival - now),
      retryAfterMs: cost > this.rate.limit ? Infinity : next - this.rate.windowMs - now,
      resetMs: arrival - now,
    };
  }

  get size(): number {
    return this.arrivals.size;
  }

  private unitsLeft(busyMs: number): number {
    return Math.max(0, Math.floor((this.rate.windowMs - busyMs + EPSILON_MS) / this.interval));
  }

  /** Makes room down to 90 % of `maxKeys`, so a full map is swept once per many new keys, not once per key. */
  private evict(now: number): void {
    for (const [key, arrival] of this.arrivals) if (arrival <= now) this.arrivals.delete(key);
    // Still too full: every key is mid-window. Drop the oldest inserted first.
    const excess = this.arrivals.size - Math.floor(this.maxKeys * 0.9);
    if (excess <= 0) return;
    let dropped = 0;
    for (const key of this.arrivals.keys()) {
      if (dropped++ >= excess) break;
      this.arrivals.delete(key);
    }
  }
}
