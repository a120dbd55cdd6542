/**
 * Group commit: jobs submitted while a write is running are written together by the next write. The analytics
 * projection's partitions apply concurrently but the in-process engine runs one statement at a time, so their
 * INSERTs queued behind each other anyway; one INSERT for all of them costs little more than one of them (a
 * statement's fixed cost, ≈ 20 ms for `events` and its views, dwarfs its rows'). The first job is written at
 * once: no job waits for company.
 *
 * `minIntervalMs` spaces the starts of consecutive writes: under steady load the jobs of that interval share one
 * write instead of each short write taking the next job or two. A job arriving after a quiet spell longer than the
 * interval is still written at once. (At 1,000 events/s the writes without it cost the pipeline about a core:
 * 20–60 small writes a second, each paying a statement's fixed cost for `events`, its views and the positions.)
 *
 * When a write of several jobs fails, each job is written again on its own before any is failed, so a job is
 * only ever failed by its own rows (the runtime then isolates the message the store rejects, as without
 * grouping).
 */
export class GroupCommit<J> {
  private queue: { job: J; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;
  private lastStart = -Infinity;

  constructor(
    private readonly write: (jobs: readonly J[]) => Promise<void>,
    private readonly minIntervalMs = 0,
  ) {}

  submit(job: J): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const wait = this.lastStart + this.minIntervalMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const group = this.queue;
        this.queue = [];
        this.lastStart = performance.now();
        try {
          await this.write(group.map((g) => g.job));
          for (const g of group) g.resolve();
        } catch (err) {
          if (group.length === 1) group[0]!.reject(err);
          else
            for (const g of group) await this.write([g.job]).then(g.resolve, (own: unknown) => g.reject(own));
        }
      }
    } finally {
      this.running = false;
    }
  }
}
