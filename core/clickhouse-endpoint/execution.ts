import type { ChdbConnection, ChdbEngine } from "../clickhouse/chdb-engine.ts";
import { EndpointFailure } from "./endpoint-failure.ts";
import type { ParsedRequest } from "./request.ts";

/**
 * Runs parsed requests on the engine: which connection a request uses (the shared one, its own for
 * per-request settings, or a session's), and with what access. Analyst connections run with the
 * engine's `readonly=1` set last, so nothing sent by the client can lift it.
 */

export type EndpointAccess = "read-only" | "read-write";

interface HttpSession {
  connection: ChdbConnection;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
}

export interface SessionRequest {
  id: string;
  timeout: string | null;
  mustExist: boolean;
}

const ENGINE_READ_ONLY = { readonly: "1" } as const;

export class QueryExecutor {
  readonly #engine: ChdbEngine;
  readonly #access: EndpointAccess;
  readonly #sessions = new Map<string, HttpSession>();
  #shared: ChdbConnection | undefined;

  constructor(engine: ChdbEngine, access: EndpointAccess) {
    this.#engine = engine;
    this.#access = access;
  }

  get access(): EndpointAccess {
    return this.#access;
  }

  async open(): Promise<{ version: string; timezone: string }> {
    this.#shared = await this.#connect({});
    const info = await this.#shared.query("SELECT version(), timezone()", "TabSeparated");
    const [version = "unknown", timezone = "UTC"] = Buffer.from(info.bytes)
      .toString("utf8")
      .trim()
      .split("\t");
    return { version, timezone };
  }

  /** Runs `work` on the connection this request should use, then releases it. */
  async withConnection<T>(
    parsed: ParsedRequest,
    session: SessionRequest | undefined,
    work: (connection: ChdbConnection) => Promise<T>,
  ): Promise<T> {
    if (session !== undefined) {
      const held = await this.#openSession(session);
      try {
        const { readonly: _alreadyEnforced, ...settings } = parsed.settings;
        await held.connection.applySettings(this.#access === "read-write" ? parsed.settings : settings);
        await useDatabase(held.connection, parsed.database);
        return await work(held.connection);
      } finally {
        this.#releaseSession(session.id, held);
      }
    }
    if (Object.keys(parsed.settings).length === 0 && parsed.database === undefined) {
      return work(this.#sharedConnection());
    }
    // Settings and the current database are per connection, so such a request gets its own (about 1 ms).
    const transient = await this.#connect(parsed.settings);
    try {
      await useDatabase(transient, parsed.database);
      return await work(transient);
    } finally {
      await this.#engine.release(transient);
    }
  }

  async close(): Promise<void> {
    for (const [id, session] of this.#sessions) {
      if (session.timer !== undefined) clearTimeout(session.timer);
      this.#sessions.delete(id);
      await this.#engine.release(session.connection);
    }
    if (this.#shared !== undefined) await this.#engine.release(this.#shared);
  }

  async #connect(settings: Readonly<Record<string, string>>): Promise<ChdbConnection> {
    if (this.#access === "read-write") return this.#engine.connect(settings);
    const { readonly: _ignored, ...rest } = settings;
    const connection = await this.#engine.connect(rest);
    try {
      await connection.applySettings(ENGINE_READ_ONLY);
    } catch (error) {
      await this.#engine.release(connection);
      throw error;
    }
    return connection;
  }

  #sharedConnection(): ChdbConnection {
    if (this.#shared === undefined) throw new EndpointFailure("endpoint is not open", 1001, "STD_EXCEPTION");
    return this.#shared;
  }

  async #openSession(request: SessionRequest): Promise<HttpSession> {
    const timeoutSeconds = Number(request.timeout ?? "60");
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 3600) {
      throw new EndpointFailure(`Invalid session timeout: '${request.timeout}'`, 36, "BAD_ARGUMENTS");
    }
    let session = this.#sessions.get(request.id);
    if (session === undefined) {
      if (request.mustExist)
        throw new EndpointFailure(`Session ${request.id} not found`, 372, "SESSION_NOT_FOUND");
      session = { connection: await this.#connect({}), busy: false, timer: undefined, timeoutMs: 0 };
      this.#sessions.set(request.id, session);
    }
    if (session.busy)
      throw new EndpointFailure(
        `Session ${request.id} is locked by a concurrent client`,
        373,
        "SESSION_IS_LOCKED",
      );
    session.busy = true;
    session.timeoutMs = timeoutSeconds * 1000;
    if (session.timer !== undefined) clearTimeout(session.timer);
    return session;
  }

  #releaseSession(id: string, session: HttpSession): void {
    session.busy = false;
    session.timer = setTimeout(() => {
      this.#sessions.delete(id);
      void this.#engine.release(session.connection);
    }, session.timeoutMs);
    session.timer.unref();
  }
}

async function useDatabase(connection: ChdbConnection, database: string | undefined): Promise<void> {
  if (database !== undefined) await connection.query(`USE ${quoteIdentifier(database)}`, "TabSeparated");
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}
