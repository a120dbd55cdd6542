// Records every recommendation answer in the event log without a write per request: answers are buffered in
// memory and appended in one INSERT per flush (RECKON_RECOMMENDATION_LOG_FLUSH_MS). A failed write keeps its
// records for the next flush; only when the buffer is full are the oldest records dropped, counted in
// reckon_recommendations_logged_total{outcome="dropped"} and logged, so nothing served is lost silently.
import {
  recommendationServed,
  type RecommendationServedEvent,
  type ServedAnswer,
} from "../../core/contracts/recommendation-served.ts";
import { logger } from "../../core/logger.ts";
import { recommendationsLogBuffered, recommendationsLogged } from "../../core/metrics.ts";

export interface RecommendationLogOptions {
  /** Appends one batch durably (the event store); rejects when it could not. */
  write: (records: RecommendationServedEvent[]) => Promise<unknown>;
  /** The longest a record waits before its batch is written. */
  flushMs: number;
  /** The most records held while the log cannot be written; beyond it the oldest are dropped (and counted). */
  maxBuffered: number;
  /** The most records per INSERT. Default 2,000. */
  maxBatch?: number;
}

/**
 * What serving needs from the log: record an answer (never blocks the request). The record is built at write
 * time, so a request pays for one array push.
 */
export interface RecommendationRecorder {
  record(answer: ServedAnswer): void;
}

export class RecommendationLog implements RecommendationRecorder {
  private buffer: ServedAnswer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private droppedSinceWarning = 0;
  private readonly maxBatch: number;

  constructor(private readonly options: RecommendationLogOptions) {
    this.maxBatch = options.maxBatch ?? 2_000;
  }

  record(answer: ServedAnswer): void {
    this.buffer.push(answer);
    if (this.buffer.length > this.options.maxBuffered) this.dropOldest();
    recommendationsLogBuffered.set(this.buffer.length);
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs).unref();
  }

  /** Writes everything buffered now; a failure leaves the records buffered and re-arms the timer. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // One write at a time: a flush during a write waits for it, then writes what arrived meanwhile.
    const run = (this.writing ?? Promise.resolve()).then(() => this.writeBuffered());
    this.writing = run.finally(() => {
      if (this.writing === tail) this.writing = undefined;
    });
    const tail = this.writing;
    return run;
  }

  /** Flushes what is buffered (stopping serving); rejects if the last attempt still failed. */
  async stop(attempts = 3): Promise<void> {
    for (let i = 1; ; i++) {
      await this.flush();
      clearTimeout(this.timer);
      this.timer = undefined;
      if (this.buffer.length === 0) return;
      if (i >= attempts)
        throw new Error(`${this.buffer.length} recommendation records could not be written to the log`);
    }
  }

  get buffered(): number {
    return this.buffer.length;
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.maxBatch);
      try {
        await this.options.write(batch.map(recommendationServed));
      } catch (err) {
        logger.error(
          { err, buffered: this.buffer.length },
          "recommendation records could not be written to the event log; retrying",
        );
        this.timer ??= setTimeout(() => void this.flush(), Math.max(this.options.flushMs, 1_000)).unref();
        return;
      }
      // Records dropped during the write were the oldest, i.e. (part of) this batch: remove only what is left.
      const written = new Set(batch);
      let n = 0;
      while (n < this.buffer.length && written.has(this.buffer[n]!)) n++;
      this.buffer = this.buffer.slice(n);
      recommendationsLogged.inc({ outcome: "stored" }, batch.length);
      recommendationsLogBuffered.set(this.buffer.length);
    }
  }

  private dropOldest(): void {
    const excess = this.buffer.length - this.options.maxBuffered;
    this.buffer = this.buffer.slice(excess);
    recommendationsLogged.inc({ outcome: "dropped" }, excess);
    if (this.droppedSinceWarning === 0) {
      logger.warn(
        { maxBuffered: this.options.maxBuffered },
        "recommendation log buffer full: dropping the oldest records (counted in reckon_recommendations_logged_total)",
      );
    }
    this.droppedSinceWarning += excess;
    if (this.droppedSinceWarning >= this.options.maxBuffered) this.droppedSinceWarning = 0;
  }
}
