import { logger } from "../../core/logger.ts";
import { ProjectorRuntime, type ProjectorRuntimeOptions } from "./consumer.ts";

/**
 * Starts the projector consumers without holding up the process: joining a consumer group can take as long as
 * the group's session timeout after a crash (the dead members are waited for), and nothing else in the process
 * (ingest, serving) needs it. A start that fails (Kafka or Postgres unreachable) is retried with backoff.
 * Readiness asks `notJoined()`.
 */
export class BackgroundConsumers {
  private runtime: ProjectorRuntime;
  private stopped = false;
  private lastError: string | undefined;
  private readonly log = logger.child({ component: "projectors" });

  constructor(
    private readonly options: ProjectorRuntimeOptions,
    private readonly firstRetryMs = 1000,
  ) {
    this.runtime = new ProjectorRuntime(options);
    void this.startUntilRunning();
  }

  /** Why the consumers are not consuming yet, or undefined once every group was joined. */
  waitingFor(): string | undefined {
    const pending = this.runtime.notJoined();
    if (pending.length === 0) return undefined;
    const groups = `consumer groups not joined yet: ${pending.join(", ")}`;
    return this.lastError ? `${groups} (last start failed: ${this.lastError})` : groups;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runtime.stop();
  }

  private async startUntilRunning(): Promise<void> {
    let retryMs = this.firstRetryMs;
    for (;;) {
      try {
        await this.runtime.start();
        this.lastError = undefined;
        return;
      } catch (err) {
        if (this.stopped) return;
        this.lastError = (err as Error).message;
        this.log.warn(
          { err: this.lastError, retryInMs: retryMs },
          "projector consumers did not start; retrying",
        );
        await this.runtime.stopConsumers();
        await new Promise((r) => setTimeout(r, retryMs));
        retryMs = Math.min(retryMs * 2, 30_000);
        if (this.stopped) return;
        this.runtime = new ProjectorRuntime(this.options);
      }
    }
  }
}
