/**
 * Redis's data types in process, with Redis's semantics where the read models depend on them: sorted sets
 * ordered by score then member bytes, 64-bit integer hash increments, scores formatted as Redis 7 formats them
 * (`%.17g`), empty collections removed, key lifetimes checked against an injected clock.
 */

export type Value =
  | { t: "string"; v: string }
  | { t: "hash"; v: Map<string, string> }
  | { t: "zset"; v: SortedSet }
  | { t: "set"; v: Set<string> };

export type TypeName = Value["t"];

/** A Redis-style error reply (WRONGTYPE, not an integer…): a rejected batch, never an outage. */
export class StoreError extends Error {
  override readonly name = "StoreError";
}

/** Member order inside a score: byte order of UTF-8, which is code point order. */
export function compareMembers(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Below the surrogates UTF-16 order is code point order; past them, compare whole code points.
    if (x < 0xd800 && y < 0xd800) return x - y;
    return a.codePointAt(i)! - b.codePointAt(i)!;
  }
  return a.length - b.length;
}

/** A score as Redis 7.0 replies with it: `%.17g` (integers below 1e17 print as integers either way). */
export function formatScore(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e17) return Object.is(x, -0) ? "-0" : String(x);
  if (x === Number.POSITIVE_INFINITY) return "inf";
  if (x === Number.NEGATIVE_INFINITY) return "-inf";
  const [mantissa, exponentText] = x.toExponential(16).split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 17) {
    const m = mantissa.includes(".") ? mantissa.replace(/\.?0+$/, "") : mantissa;
    return `${m}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const fixed = x.toFixed(16 - exponent);
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

/** Parses a score argument as Redis does (a double; "inf"/"+inf"/"-inf" allowed). */
export function parseScore(text: string, what = "score"): number {
  const lower = text.toLowerCase();
  const x =
    lower === "inf" || lower === "+inf"
      ? Number.POSITIVE_INFINITY
      : lower === "-inf"
        ? Number.NEGATIVE_INFINITY
        : text.trim() === text && text !== ""
          ? Number(text)
          : Number.NaN;
  if (Number.isNaN(x)) throw new StoreError(`ERR ${what} is not a valid float: "${text}"`);
  return x;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** `current + by` as Redis's HINCRBY/INCRBY computes it (64-bit integers, decimal strings). */
export function addInteger(current: string | undefined, by: string): string {
  const parse = (s: string) => {
    if (!/^-?\d{1,20}$/.test(s)) throw new StoreError(`ERR value is not an integer or out of range: "${s}"`);
    return s;
  };
  const a = current === undefined ? 0 : Number(parse(current));
  const b = Number(parse(by));
  const sum = a + b;
  if (Number.isSafeInteger(a) && Number.isSafeInteger(b) && Number.isSafeInteger(sum)) return String(sum);
  const big = BigInt(current ?? "0") + BigInt(by);
  if (big > INT64_MAX || big < INT64_MIN) throw new StoreError("ERR increment or decrement would overflow");
  return big.toString();
}

/** A sorted set: scores by member, and the rank order computed when read after a change. */
export class SortedSet {
  readonly scores = new Map<string, number>();
  private order: string[] | undefined;

  get size(): number {
    return this.scores.size;
  }

  /** Members lowest rank first (score, then member bytes). */
  ascending(): readonly string[] {
    if (this.order === undefined) {
      const scores = this.scores;
      this.order = [...scores.keys()].sort((a, b) => scores.get(a)! - scores.get(b)! || compareMembers(a, b));
    }
    return this.order;
  }

  set(member: string, score: number): void {
    if (this.scores.get(member) === score) return;
    this.scores.set(member, score);
    this.order = undefined;
  }

  /** ZINCRBY: the new score. */
  increment(member: string, by: number): number {
    const next = (this.scores.get(member) ?? 0) + by;
    if (Number.isNaN(next)) throw new StoreError("ERR resulting score is not a number (NaN)");
    this.set(member, next);
    return next;
  }

  /** ZREM of one member. */
  delete(member: string): void {
    if (this.scores.delete(member)) this.order = undefined;
  }

  /** ZADD GT: adds a new member, or raises an existing one's score. */
  addGreater(member: string, score: number): void {
    const current = this.scores.get(member);
    if (current === undefined || score > current) this.set(member, score);
  }

  /** Keeps the `cap` highest-ranked members (ZREMRANGEBYRANK 0 n-cap-1). */
  trim(cap: number): void {
    const excess = this.scores.size - cap;
    if (excess <= 0) return;
    if (this.order === undefined && excess <= 2) {
      // The common case (one member just added over the cap): a scan for the lowest beats sorting the set.
      for (let k = 0; k < excess; k++) {
        let lowest: string | undefined;
        let lowestScore = 0;
        for (const [member, score] of this.scores)
          if (
            lowest === undefined ||
            score < lowestScore ||
            (score === lowestScore && compareMembers(member, lowest) < 0)
          ) {
            lowest = member;
            lowestScore = score;
          }
        this.scores.delete(lowest!);
      }
      return;
    }
    const order = this.ascending();
    for (let i = 0; i < excess; i++) this.scores.delete(order[i]!);
    this.order = order.slice(excess);
  }

  /** Copy for a snapshot: [member, score] pairs. */
  entries(): [string, number][] {
    return [...this.scores];
  }
}

/** Redis's ZRANGE index rules: negative counts from the end, clamped; undefined when empty. */
export function rankRange(length: number, start: number, stop: number): [number, number] | undefined {
  let from = start < 0 ? length + start : start;
  let to = stop < 0 ? length + stop : stop;
  if (from < 0) from = 0;
  if (to >= length) to = length - 1;
  if (from > to || from >= length) return undefined;
  return [from, to];
}
