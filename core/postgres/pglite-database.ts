import { mkdirSync } from "node:fs";
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Database, Queryable } from "./database.ts";
import { logger } from "../logger.ts";
import { DataDirectoryLock } from "./data-directory-lock.ts";
import { deserializeError, type PGliteReply, type PGliteRequest } from "./pglite-protocol.ts";

/**
 * The worker's entry: Node 20 loads a worker's own entry file without the TypeScript loader the process runs
 * with, so a small script registers tsx in the worker first and then imports the worker module.
 */
const WORKER_BOOTSTRAP = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
  .then(({ register }) => register())
  .then(() => import(${JSON.stringify(new URL("./pglite-worker.ts", import.meta.url).href)}));`;

/** A request as the adapter builds it; the id is added when it is sent. */
type Request = PGliteRequest extends infer R ? (R extends PGliteRequest ? Omit<R, "id"> : never) : never;

/**
 * The embedded adapter of the SQL port: PostgreSQL compiled to WASM (PGlite), in this process, with the same
 * SQL and migrations as the server. `pglite:///abs/dir` or `pglite://./rel/dir` keeps the database in a
 * directory; `pglite://` alone keeps it in memory.
 *
 * PGlite runs in a worker thread (pglite-worker.ts): its statements run synchronously in WASM, and on the thread
 * that answers HTTP each one would hold the event loop for its whole run. Statements and their rows cross the
 * thread boundary as messages; the values are parsed in the worker as they were here (int8 as a number, jsonb
 * parsed, timestamps as `Date`, bytea as `Uint8Array`) and a structured clone keeps them.
 *
 * PGlite is one session: statements run one at a time and a transaction holds the session until it ends, so
 * every statement of a transaction must go through the `tx` it is handed (a `db.query` from inside `work`
 * would wait for the transaction it is part of). Its socket server shares that one session among all clients,
 * so Reckon never uses it; and `COPY FROM STDIN` ends the backend, so nothing on this path may use COPY.
 */
class PGliteDatabase implements Database {
  private readonly worker: Worker;
  private readonly lock: DataDirectoryLock | undefined;
  private readonly pending = new Map<number, { resolve(rows: unknown[]): void; reject(err: Error): void }>();
  private readonly listeners = new Map<number, (payload: string) => void>();
  private nextId = 1;
  /** Set when the worker is gone: every later statement fails with it. */
  private gone: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(dataDir: string | undefined) {
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true });
      // PGlite takes no lock of its own: two processes writing one directory would corrupt it.
      this.lock = DataDirectoryLock.acquire(dataDir);
    }
    // The worker loads the WASM engine (≈ 0.4 s) at once, off this thread; a failed start is reported by the
    // first statement.
    this.worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: { dataDir } });
    // Idle, the worker does not keep the process alive (as PGlite on this thread did not); a statement in
    // flight does (see `send`).
    this.worker.unref();
    this.worker.on("message", (message: PGliteReply) => this.receive(message));
    this.worker.on("error", (err) => {
      logger.error(
        { err },
        "the embedded database's worker thread failed; every later statement fails with it",
      );
      this.end(err);
    });
    this.worker.on("exit", (code) =>
      this.end(new Error(`the embedded database's worker thread exited (code ${code})`)),
    );
  }

  async query<R extends object>(sql: string, params?: unknown[]) {
    return { rows: (await this.send({ op: "query", sql, params })) as R[] };
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    // The first statement goes with BEGIN rather than after its answer: the worker runs them in order, and a
    // BEGIN that fails fails the statements and the end too.
    const begin = this.request({ op: "begin" });
    begin.reply.catch(() => undefined);
    const tx = begin.id;
    let result: T;
    try {
      result = await work({
        query: async <R extends object>(sql: string, params?: unknown[]) => ({
          rows: (await this.send({ op: "query", sql, params, tx })) as R[],
        }),
      });
    } catch (err) {
      // The caller learns why its work failed, not why a rollback after it could not be sent.
      await this.send({ op: "end", tx, commit: false }).catch(() => undefined);
      throw err;
    }
    await this.send({ op: "end", tx, commit: true });
    return result;
  }

  async listen(channel: string, onNotify: (payload: string) => void) {
    const { id: listener, reply } = this.request({ op: "listen", channel });
    this.listeners.set(listener, onNotify);
    try {
      await reply;
    } catch (err) {
      this.listeners.delete(listener);
      throw err;
    }
    return async () => {
      this.listeners.delete(listener);
      await this.send({ op: "unlisten", listener });
    };
  }

  async close() {
    this.closing ??= (async () => {
      if (!this.gone) await this.send({ op: "close" }).catch(() => undefined);
      await this.worker.terminate();
      this.lock?.release();
    })();
    return this.closing;
  }

  private send(request: Request): Promise<unknown[]> {
    return this.request(request).reply;
  }

  /** Sends a request; its id names the transaction or the listener it opens. */
  private request(request: Request): { id: number; reply: Promise<unknown[]> } {
    const id = this.nextId++;
    if (this.gone) return { id, reply: Promise.reject(this.gone) };
    const reply = new Promise<unknown[]>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...request, id } as PGliteRequest);
    });
    return { id, reply };
  }

  private receive(message: PGliteReply): void {
    if ("notify" in message) return this.listeners.get(message.notify)?.(message.payload);
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (this.pending.size === 0) this.worker.unref();
    if ("error" in message) waiting.reject(deserializeError(message.error));
    else waiting.resolve(message.rows);
  }

  /** The worker ended (closed, or died of an error): what waits for it fails, and so does what comes later. */
  private end(err: Error): void {
    this.gone ??= err;
    for (const waiting of this.pending.values()) waiting.reject(this.gone);
    this.pending.clear();
  }
}

/** `pglite://` → memory; `pglite:///abs` → /abs; `pglite://./rel` or `pglite://rel` → relative to the cwd. */
export function pgliteDataDir(url: string): string | undefined {
  const rest = url.slice("pglite://".length);
  if (rest === "" || rest === "memory") return undefined;
  return path.resolve(rest);
}

export const openPGliteDatabase = (url: string): Database => new PGliteDatabase(pgliteDataDir(url));
