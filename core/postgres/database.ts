import pg from "pg";
import { openPGliteDatabase } from "./pglite-database.ts";
import { Listener } from "./listener.ts";

/**
 * The SQL port. Callers see only this; the adapter is picked from the URL by `openDatabase`
 * (Gorse-style registry), so an embedded Postgres can be registered later without touching callers.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface Database extends Queryable {
  /** Runs `work` in one transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to NOTIFY on `channel`; returns an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

type DatabaseFactory = (url: string, options: DatabaseOptions) => Database;
export interface DatabaseOptions {
  maxConnections?: number;
  applicationName?: string;
}

const factories = new Map<string, DatabaseFactory>();

export function registerDatabase(prefixes: string[], factory: DatabaseFactory): void {
  for (const prefix of prefixes) factories.set(prefix, factory);
}

export function openDatabase(url: string, options: DatabaseOptions = {}): Database {
  for (const [prefix, factory] of factories) if (url.startsWith(prefix)) return factory(url, options);
  throw new Error(
    `DATABASE_URL: no adapter for "${url.split(":")[0]}:" (known: ${[...factories.keys()].join(", ")})`,
  );
}

// xid8 and bigint come back as strings by default; positions are safe integers for centuries of events.
pg.types.setTypeParser(20, (v) => Number(v));

/** A text of several statements answers one result per statement: its rows are the last statement's. */
function rowsOf<R>(result: pg.QueryResult | pg.QueryResult[]): R[] {
  const last = Array.isArray(result) ? result.at(-1) : result;
  return (last?.rows ?? []) as R[];
}

class PgDatabase implements Database {
  private readonly pool: pg.Pool;

  constructor(
    private readonly url: string,
    options: DatabaseOptions,
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? "reckon",
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on("error", () => undefined);
  }

  async query<R extends object>(sql: string, params?: unknown[]) {
    return { rows: rowsOf<R>(await this.pool.query(sql, params)) };
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A checked-out client has no listener of the pool's: a connection lost between two statements (Postgres
    // restarting) would emit an unhandled 'error' and end the process. The statement in flight fails on its own.
    let lost: Error | undefined;
    const onError = (err: Error) => (lost = err);
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const tx: Queryable = {
        query: async <R extends object>(sql: string, params?: unknown[]) => ({
          rows: rowsOf<R>(await client.query(sql, params)),
        }),
      };
      const result = await work(tx);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.off("error", onError);
      // A broken connection is destroyed rather than handed to the next caller.
      client.release(lost);
    }
  }

  async listen(channel: string, onNotify: (payload: string) => void) {
    // A dedicated connection that comes back after a Postgres restart (listener.ts).
    const listener = new Listener({ url: this.url, channel, onNotify });
    await listener.start();
    return () => listener.stop();
  }

  async close() {
    await this.pool.end();
  }
}

registerDatabase(["postgres://", "postgresql://"], (url, options) => new PgDatabase(url, options));
registerDatabase(["pglite://"], (url) => openPGliteDatabase(url));
