import type { PGlite } from "@electric-sql/pglite";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Database, Queryable } from "./database.ts";
import { DataDirectoryLock } from "./data-directory-lock.ts";

/**
 * The embedded adapter of the SQL port: PostgreSQL compiled to WASM (PGlite), in this process, with the same
 * SQL and migrations as the server. `pglite:///abs/dir` or `pglite://./rel/dir` keeps the database in a
 * directory; `pglite://` alone keeps it in memory.
 *
 * PGlite is one session: statements run one at a time and a transaction holds the session until it ends, so
 * every statement of a transaction must go through the `tx` it is handed (a `db.query` from inside `work`
 * would wait for the transaction it is part of). Its socket server shares that one session among all clients,
 * so Reckon never uses it; and `COPY FROM STDIN` ends the backend, so nothing on this path may use COPY.
 */
class PGliteDatabase implements Database {
  private readonly session: Promise<PGlite>;
  private readonly lock: DataDirectoryLock | undefined;

  constructor(dataDir: string | undefined) {
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      // PGlite takes no lock of its own: two processes writing one directory would corrupt it.
      this.lock = DataDirectoryLock.acquire(dataDir);
    }
    // Loaded on first use: the WASM engine costs ≈ 0.4 s to import, which processes on a server stack never pay.
    this.session = Promise.all([
      import("@electric-sql/pglite"),
      import("@electric-sql/pglite/contrib/pg_trgm"),
    ]).then(async ([{ PGlite, types }, { pg_trgm }]) => {
      const pg = new PGlite(dataDir ?? "memory://", {
        // The search read model's trigram indexes (migration 090) need the extension, as on a server.
        extensions: { pg_trgm },
        // The `pg` adapter's parsing, so callers get the same values from both (int8 as a number).
        parsers: { [types.INT8]: (v: string) => Number(v) },
      });
      await pg.waitReady;
      return pg;
    });
    // A failed start is reported by the first statement; it must not also crash the process as unhandled.
    this.session.catch(() => undefined);
  }

  async query<R extends object>(sql: string, params?: unknown[]) {
    return { rows: await runOn<R>(await this.session, sql, params) };
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return (await this.session).transaction(async (session) =>
      work({
        query: async <R extends object>(sql: string, params?: unknown[]) => ({
          rows: await runOn<R>(session, sql, params),
        }),
      }),
    );
  }

  async listen(channel: string, onNotify: (payload: string) => void) {
    const unsubscribe = await (await this.session).listen(channel, onNotify);
    return async () => unsubscribe();
  }

  async close() {
    const pg = await this.session.catch(() => undefined);
    if (pg && !pg.closed) await pg.close();
    this.lock?.release();
  }
}

interface Session {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<Array<{ rows: unknown[] }>>;
}

/**
 * Statements with parameters go through the extended protocol (one statement); statements without go through
 * the simple protocol, which also runs a migration file of several statements, as `pg` does.
 */
async function runOn<R>(session: Session, sql: string, params?: unknown[]): Promise<R[]> {
  if (params && params.length > 0) return (await session.query<R>(sql, params)).rows;
  const results = await session.exec(sql);
  return (results.at(-1)?.rows ?? []) as R[];
}

/** `pglite://` → memory; `pglite:///abs` → /abs; `pglite://./rel` or `pglite://rel` → relative to the cwd. */
export function pgliteDataDir(url: string): string | undefined {
  const rest = url.slice("pglite://".length);
  if (rest === "" || rest === "memory") return undefined;
  return path.resolve(rest);
}

export const openPGliteDatabase = (url: string): Database => new PGliteDatabase(pgliteDataDir(url));
