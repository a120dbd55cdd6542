import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Session } from "chdb";
import { toClickHouseStoreError } from "./errors.ts";
import { ClickHouseStoreError } from "./port.ts";

/**
 * The one module that reaches past chdb's public API. chdb's queryBindAsync re-escapes string
 * parameters and its insert() only takes whitelisted table/format pairs, but the HTTP endpoint
 * must hand the engine `param_*` text and INSERT statements exactly as a ClickHouse server
 * receives them. So we call the addon's connection functions (the ones Session itself uses)
 * with a Session's native connection, and take over what Session would otherwise do for us:
 * tracking in-flight operations so a connection is never closed under one, and serialising
 * parameterised queries process-wide (libchdb's parameter state is not isolated between
 * concurrent calls; chdb-node serialises them the same way).
 */

interface NativeQueryResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
}
interface NativeInsertResult {
  elapsed: number;
  rowsWritten: number;
  bytesWritten: number;
}
interface ChdbNative {
  QueryAsyncConnection(
    connection: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeQueryResult>;
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<NativeInsertResult>;
}

function loadNative(): ChdbNative {
  const require = createRequire(import.meta.url);
  const chdbDir = path.dirname(require.resolve("chdb"));
  const loader = require(path.join(chdbDir, "dist", "loader.js")) as { loadNative(): Partial<ChdbNative> };
  const native = loader.loadNative();
  if (
    typeof native.QueryAsyncConnection !== "function" ||
    typeof native.InsertRawAsyncConnection !== "function"
  ) {
    throw new Error(
      "this chdb version lacks QueryAsyncConnection/InsertRawAsyncConnection (tested with chdb 3.4)",
    );
  }
  return native as ChdbNative;
}

let nativeAddon: ChdbNative | undefined;
function native(): ChdbNative {
  nativeAddon ??= loadNative();
  return nativeAddon;
}

let paramChain: Promise<unknown> = Promise.resolve();
function serialised<T>(run: () => Promise<T>): Promise<T> {
  const result = paramChain.then(run);
  paramChain = result.catch(() => undefined);
  return result;
}

export interface EngineQueryResult {
  bytes: Uint8Array;
  elapsedSeconds: number;
  rowsRead: number;
  bytesRead: number;
}
export interface EngineInsertResult {
  rowsWritten: number;
  bytesWritten: number;
  elapsedSeconds: number;
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One native connection to the process's chdb data directory; its SET/USE state is its own. */
export class ChdbConnection {
  readonly #session: Session;
  readonly #pending = new Set<Promise<unknown>>();
  #closed = false;

  constructor(session: Session) {
    this.#session = session;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs one statement; `format` is the output format unless the SQL carries its own FORMAT clause. */
  query(sql: string, format: string, params?: Readonly<Record<string, string>>): Promise<EngineQueryResult> {
    const hasParams = params !== undefined && Object.keys(params).length > 0;
    const run = () =>
      this.#native(() =>
        native().QueryAsyncConnection(
          this.#session.connection,
          sql,
          format,
          hasParams ? { ...params } : undefined,
        ),
      );
    return (hasParams ? serialised(run) : run()).then((r) => ({
      bytes: r.bytes,
      elapsedSeconds: r.elapsed,
      rowsRead: r.rowsRead,
      bytesRead: r.bytesRead,
    }));
  }

  /** `prefix` is a complete `INSERT INTO ... FORMAT <fmt>` (or `... VALUES`); `data` follows it verbatim. */
  async insertRaw(prefix: string, data: Buffer): Promise<EngineInsertResult> {
    const r = await this.#native(() =>
      native().InsertRawAsyncConnection(this.#session.connection, prefix, data, false),
    );
    return { rowsWritten: r.rowsWritten, bytesWritten: r.bytesWritten, elapsedSeconds: r.elapsed };
  }

  /** Applies settings with SET, as a server applies URL settings to one query. */
  async applySettings(settings: Readonly<Record<string, string>>): Promise<void> {
    for (const [name, value] of Object.entries(settings)) {
      if (!SETTING_NAME.test(name)) {
        throw new ClickHouseStoreError(`Unknown setting '${name}'`, 115, "UNKNOWN_SETTING");
      }
      await this.query(`SET ${name} = ${quoteLiteral(value)}`, "TabSeparated");
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    this.#session.close();
  }

  async #native<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ClickHouseStoreError("connection is closed", 1001, "STD_EXCEPTION");
    const op = call();
    const tracked = op.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(tracked);
    void tracked.then(() => this.#pending.delete(tracked));
    try {
      return await op;
    } catch (error) {
      throw toClickHouseStoreError(error);
    }
  }
}

/**
 * The process's chdb engine over one data directory (libchdb binds one directory per process).
 * Connections to the same directory coexist; each carries its own settings and current database.
 */
export class ChdbEngine {
  readonly dataDir: string;
  readonly #connections = new Set<ChdbConnection>();

  private constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  static open(dataDir: string): ChdbEngine {
    const dir = path.resolve(dataDir);
    mkdirSync(dir, { recursive: true });
    native();
    return new ChdbEngine(dir);
  }

  /** Opens a connection (about a millisecond), then applies `settings` to it. */
  async connect(settings: Readonly<Record<string, string>> = {}): Promise<ChdbConnection> {
    let connection: ChdbConnection;
    try {
      connection = new ChdbConnection(new Session(this.dataDir));
    } catch (error) {
      throw toClickHouseStoreError(error);
    }
    this.#connections.add(connection);
    try {
      await connection.applySettings(settings);
    } catch (error) {
      await this.release(connection);
      throw error;
    }
    return connection;
  }

  async release(connection: ChdbConnection): Promise<void> {
    this.#connections.delete(connection);
    await connection.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections].map((c) => this.release(c)));
  }
}

/** A single-quoted ClickHouse string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
