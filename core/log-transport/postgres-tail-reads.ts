import { formatPositionToken, type LogPosition } from "../contracts/position.ts";
import type { EncodedLogEntry } from "../event-store/log-reader.ts";

type Read = (from: LogPosition, limit: number) => Promise<EncodedLogEntry[]>;

/** Past this many kept reads, the stale ones are dropped (without commit notices nothing else would). */
const KEEP_AT_MOST = 64;

interface Shared {
  entries: Promise<EncodedLogEntry[]>;
  startedAt: number;
}

/**
 * The log reads of one tail, shared by its subscriptions. A commit wakes every projection at once, and the
 * projections that are caught up all ask for the log after the same position: one statement answers them all,
 * instead of one per projection on the database's single session (PGlite runs statements one at a time, in its
 * worker thread).
 *
 * A read is shared only while it can answer as a fresh one would: it began after the last commit notice
 * (`committed()` forgets the older ones) and less than `maxAgeMs` ago (a notice missed on a server, which the
 * subscriptions' poll covers, must not leave them on an old answer). An empty answer is not kept. What a shared
 * read returns is the log after `from` in the reader's order, up to the limit, as any read of it would start:
 * the reader stops below `pg_snapshot_xmin`, so rows it passed over can never appear later.
 */
export class SharedLogReads {
  private readonly recent = new Map<string, Shared>();

  constructor(
    private readonly read: Read,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The log after `from`, up to `limit` entries: a read in flight or just made for the same range, or a new one. */
  get(from: LogPosition, limit: number): Promise<EncodedLogEntry[]> {
    const key = `${formatPositionToken(from)}/${limit}`;
    const known = this.recent.get(key);
    const now = this.now();
    if (known && now - known.startedAt < this.maxAgeMs) return known.entries;
    if (this.recent.size >= KEEP_AT_MOST)
      for (const [k, old] of this.recent) if (now - old.startedAt >= this.maxAgeMs) this.recent.delete(k);
    const shared: Shared = { entries: this.read(from, limit), startedAt: now };
    this.recent.set(key, shared);
    const forget = () => {
      if (this.recent.get(key) === shared) this.recent.delete(key);
    };
    shared.entries.then((entries) => {
      if (entries.length === 0) forget();
    }, forget);
    return shared.entries;
  }

  /** A commit was announced: reads begun before it may have missed its rows, so none of them is shared again. */
  committed(): void {
    this.recent.clear();
  }
}
