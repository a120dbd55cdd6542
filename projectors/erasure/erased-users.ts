import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { Database } from "../../core/postgres/database.ts";
import { logger } from "../../core/logger.ts";
import { ERASURES_CHANNEL, readErasures } from "./postgres-erasure.ts";

export interface ErasedUsersOptions {
  /**
   * Called with the users whose erasure this process learnt of after it started: a projector may have applied
   * some of their events between the erasure and now, so their read-model keys are deleted once more.
   */
  onErased?: (userIds: string[]) => Promise<unknown>;
  /** Re-read the suppression records this often even without a notification (default 30 s). */
  refreshMs?: number;
}

/**
 * The suppression records as a projector consults them: a log entry of an erased user (an interaction, a
 * retraction of one, a list served to them) written by a transaction older than the erasure is skipped (the
 * Kafka topic keeps such entries until its retention passes). Loaded at start, re-read on every erasure's NOTIFY and periodically (a notification sent while the
 * listening connection was down is lost).
 */
export class ErasedUsers {
  private before = new Map<string, bigint>();
  private refreshing: Promise<void> = Promise.resolve();
  private unlisten: (() => Promise<void>) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly log = logger.child({ component: "erasure" });

  constructor(
    private readonly db: Database,
    private readonly options: ErasedUsersOptions = {},
  ) {}

  async start(): Promise<void> {
    this.before = await readErasures(this.db);
    this.unlisten = await this.db.listen(ERASURES_CHANNEL, () => void this.refresh());
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs ?? 30_000);
    this.timer.unref();
  }

  /** Whether no projection may apply `message`. */
  readonly skips = (message: LogMessage): boolean => {
    if (this.before.size === 0) return false;
    const user = userOf(message);
    if (user === undefined) return false;
    const before = this.before.get(user);
    return before !== undefined && BigInt(message.transaction_id) < before;
  };

  /** Re-reads the records (one at a time); resolves when the records read after this call are in use. */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(async () => {
      try {
        const next = await readErasures(this.db);
        const learnt = [...next].filter(([id, xid]) => this.before.get(id) !== xid).map(([id]) => id);
        this.before = next;
        if (learnt.length > 0) await this.options.onErased?.(learnt);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "erased users not refreshed; retrying later");
      }
    });
    return this.refreshing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.();
    await this.refreshing;
  }
}

/** The user a log entry is about, for the kinds that name one. */
export function userOf(message: LogMessage): string | undefined {
  switch (message.kind) {
    case "interaction":
    case "retraction":
    case "recommendation":
      return message.event.user_id;
    default:
      return undefined;
  }
}

/** The distinct users `messages` name. */
export function usersOf(messages: readonly LogMessage[]): string[] {
  return [...new Set(messages.flatMap((m) => userOf(m) ?? []))];
}
