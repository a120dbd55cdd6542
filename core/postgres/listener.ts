import pg from "pg";
import { logger } from "../logger.ts";

export interface ListenerOptions {
  url: string;
  channel: string;
  onNotify(payload: string): void;
  /** First wait before reconnecting after the connection is lost (doubles up to `maxRetryMs`); default 100 ms. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * A LISTEN on a dedicated connection (LISTEN is per session) that comes back when the connection is lost (a
 * Postgres restart, a network cut): it reconnects with backoff and listens again, then calls `onNotify("")` once,
 * since notifications sent while it was away are gone and the listener should look for what it missed.
 * The first connection must succeed (start-up fails loudly on a wrong URL); later losses are retried forever.
 */
export class Listener {
  private client: pg.Client | undefined;
  private stopped = false;
  private reconnecting: Promise<void> | undefined;
  private readonly log = logger.child({ component: "postgres-listen" });

  constructor(private readonly options: ListenerOptions) {}

  /** Whether a connection is listening now (tests and readiness). */
  get listening(): boolean {
    return this.client !== undefined && this.reconnecting === undefined;
  }

  async start(): Promise<void> {
    this.client = await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: "reckon-listen" });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost || this.stopped) return;
      lost = true;
      this.log.warn(
        { channel: this.options.channel, err: err?.message ?? "connection ended" },
        "LISTEN connection lost; reconnecting",
      );
      this.reconnecting ??= this.reconnect().finally(() => (this.reconnecting = undefined));
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (n) => {
      if (n.channel === this.options.channel) this.options.onNotify(n.payload ?? "");
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      lost = true; // a failed connect is not a lost connection: the caller decides
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private async reconnect(): Promise<void> {
    const old = this.client;
    this.client = undefined;
    await old?.end().catch(() => undefined);
    let waitMs = this.options.retryMs ?? 100;
    const maxMs = this.options.maxRetryMs ?? 5000;
    for (let attempt = 1; !this.stopped; attempt++) {
      await new Promise((r) => setTimeout(r, waitMs));
      if (this.stopped) return;
      try {
        const client = await this.connect();
        if (this.stopped) {
          await client.end().catch(() => undefined);
          return;
        }
        this.client = client;
        this.log.info({ channel: this.options.channel, attempts: attempt }, "LISTEN connection back");
        this.options.onNotify("");
        return;
      } catch (err) {
        this.log.debug({ err: (err as Error).message, retryInMs: waitMs }, "LISTEN reconnect failed");
        waitMs = Math.min(waitMs * 2, maxMs);
      }
    }
  }
}
