import { formatPositionToken } from "../../core/contracts/position.ts";
import { logger } from "../../core/logger.ts";
import { projectorRebuilding, projectorStateLosses } from "./metrics.ts";
import type { StateLoss } from "./state-loss.ts";

/** What `/v1/status` says about a projection's read model. */
export interface ReadModelHealth {
  /** `intact`: nothing lost since start; `rebuilding`: its store lost state and a rebuild from the log runs. */
  state: "intact" | "rebuilding" | "rebuilt";
  /** The last loss: when it was seen and what the store held against what the consumer had committed. */
  last_loss?: { detected_at: string; partition: number; stored: string | null; committed: string };
  rebuilds: number;
  /** When the last rebuild after a loss switched readers to the rebuilt read model. */
  rebuilt_at?: string;
}

interface Tracked {
  health: ReadModelHealth;
  running: Promise<void> | undefined;
  /** Another loss was seen while the rebuild ran (the rebuild may have read from an emptied store): run again. */
  again: boolean;
}

export interface SelfRebuildOptions {
  /** Rebuilds a projection from the log beside the live one and switches to it (replay.ts, analytics/replay.ts). */
  rebuilders: Readonly<Record<string, () => Promise<unknown>>>;
  /** First wait after a failed rebuild (doubles up to 30 s); default 1000 ms. */
  retryMs?: number;
}

/**
 * Turns a detected state loss (state-loss.ts) into a rebuild from the log, without an operator: one rebuild at a
 * time per projection, retried with backoff while it fails (its store may still be coming back), run once more
 * if another loss is seen meanwhile. The live consumer keeps applying throughout; the rebuild switches readers
 * to the rebuilt version as `reckon replay` does.
 */
export class SelfRebuild {
  private readonly tracked = new Map<string, Tracked>();
  private stopped = false;
  private readonly log = logger.child({ component: "projectors" });

  constructor(private readonly options: SelfRebuildOptions) {}

  health(projection: string): ReadModelHealth {
    return this.track(projection).health;
  }

  /** The projections rebuilding now, each with why (readiness names them). */
  rebuilding(): string[] {
    return [...this.tracked.entries()]
      .filter(([, t]) => t.health.state === "rebuilding")
      .map(([name, t]) => {
        const loss = t.health.last_loss;
        return `${name}: its store lost state (partition ${loss?.partition}: stored ${loss?.stored ?? "nothing"}, committed ${loss?.committed}); rebuilding from the log`;
      });
  }

  report(loss: StateLoss): void {
    const rebuild = this.options.rebuilders[loss.projection];
    const tracked = this.track(loss.projection);
    if (tracked.running) {
      tracked.again = true;
      return;
    }
    projectorStateLosses.inc({ projector: loss.projection });
    tracked.health = {
      ...tracked.health,
      state: "rebuilding",
      last_loss: {
        detected_at: new Date().toISOString(),
        partition: loss.partition,
        stored: loss.stored ? formatPositionToken(loss.stored) : null,
        committed: formatPositionToken(loss.committed),
      },
    };
    const where = {
      projection: loss.projection,
      topic: loss.topic,
      partition: loss.partition,
      stored: tracked.health.last_loss!.stored,
      committed: tracked.health.last_loss!.committed,
    };
    if (!rebuild) {
      this.log.error(
        where,
        "read model lost state and cannot rebuild itself: run reckon replay --projection",
      );
      return;
    }
    this.log.error(
      where,
      "read model lost state (its store holds an older position than its consumer committed); rebuilding from the log",
    );
    projectorRebuilding.set({ projector: loss.projection }, 1);
    tracked.running = this.run(loss.projection, tracked, rebuild).finally(() => {
      tracked.running = undefined;
      projectorRebuilding.set({ projector: loss.projection }, 0);
    });
  }

  /** Waits for running rebuilds (tests, shutdown). */
  async settled(): Promise<void> {
    while ([...this.tracked.values()].some((t) => t.running))
      await Promise.all([...this.tracked.values()].map((t) => t.running));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
  }

  private async run(name: string, tracked: Tracked, rebuild: () => Promise<unknown>): Promise<void> {
    let retryMs = this.options.retryMs ?? 1000;
    do {
      tracked.again = false;
      tracked.health = { ...tracked.health, state: "rebuilding" };
      try {
        const result = await rebuild();
        tracked.health = {
          ...tracked.health,
          state: "rebuilt",
          rebuilds: tracked.health.rebuilds + 1,
          rebuilt_at: new Date().toISOString(),
        };
        this.log.warn({ projection: name, result }, "read model rebuilt from the log after losing state");
      } catch (err) {
        if (this.stopped) return;
        this.log.warn(
          { projection: name, err: (err as Error).message, retryInMs: retryMs },
          "rebuild failed; retrying",
        );
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 30_000);
        tracked.again = true;
      }
    } while (tracked.again && !this.stopped);
  }

  private track(projection: string): Tracked {
    let tracked = this.tracked.get(projection);
    if (!tracked)
      this.tracked.set(
        projection,
        (tracked = { health: { state: "intact", rebuilds: 0 }, running: undefined, again: false }),
      );
    return tracked;
  }
}
