import type { PGlite, Transaction } from "@electric-sql/pglite";
import { parentPort, workerData } from "node:worker_threads";
import { serializeError, type PGliteReply, type PGliteRequest } from "./pglite-protocol.ts";

/**
 * The worker thread that owns the embedded database: PGlite runs its statements synchronously in WASM, so on the
 * thread that answers HTTP every statement would hold that thread's event loop. Here it holds only this one.
 * The adapter (pglite-database.ts) sends each statement as a message; this thread is the one PGlite session,
 * so statements still run one at a time and a transaction still holds the session until it ends.
 */

interface OpenTransaction {
  tx: Transaction;
  /** Ends the transaction: commit when true, roll back when false; the reply goes to request `replyTo`. */
  finish(commit: boolean, replyTo: number): void;
}

const port = parentPort!;
const { dataDir } = workerData as { dataDir: string | undefined };
/**
 * The transactions begun, by the id of their `begin`: the adapter sends a transaction's first statement without
 * waiting for BEGIN to answer, so a statement waits here until its transaction holds the session.
 */
const transactions = new Map<number, Promise<OpenTransaction>>();
const unlisteners = new Map<number, () => Promise<void>>();
/** Thrown inside PGlite's transaction to make it roll back; not an error of the caller's. */
const ROLLBACK = Symbol("rollback");

const session: Promise<PGlite> = Promise.all([
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
// A failed start is reported by the first statement; it must not also end the thread as unhandled.
session.catch(() => undefined);

const reply = (message: PGliteReply) => port.postMessage(message);
const fail = (id: number, err: unknown) => reply({ id, error: serializeError(err) });

interface Session {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  exec(sql: string): Promise<Array<{ rows: unknown[] }>>;
}

/**
 * Statements with parameters go through the extended protocol (one statement); statements without go through
 * the simple protocol, which also runs a migration file of several statements, as `pg` does.
 */
async function runOn(on: Session, sql: string, params?: unknown[]): Promise<unknown[]> {
  if (params && params.length > 0) return (await on.query(sql, params)).rows;
  const results = await on.exec(sql);
  return results.at(-1)?.rows ?? [];
}

async function handle(request: PGliteRequest): Promise<void> {
  const pg = await session;
  switch (request.op) {
    case "query": {
      if (request.tx === undefined)
        return reply({ id: request.id, rows: await runOn(pg, request.sql, request.params) });
      const open = await transactionOf(request.tx);
      return reply({ id: request.id, rows: await runOn(open.tx, request.sql, request.params) });
    }
    case "begin":
      return; // registered as it arrives (below)
    case "end": {
      const open = transactionOf(request.tx);
      transactions.delete(request.tx);
      return (await open).finish(request.commit, request.id);
    }
    case "listen": {
      const unlisten = await pg.listen(request.channel, (payload) => reply({ notify: request.id, payload }));
      unlisteners.set(request.id, unlisten);
      return reply({ id: request.id, rows: [] });
    }
    case "unlisten": {
      const unlisten = unlisteners.get(request.listener);
      unlisteners.delete(request.listener);
      await unlisten?.();
      return reply({ id: request.id, rows: [] });
    }
    case "close":
      if (!pg.closed) await pg.close();
      return reply({ id: request.id, rows: [] });
  }
}

function transactionOf(id: number): Promise<OpenTransaction> {
  const open = transactions.get(id);
  if (!open) throw new Error("the transaction has ended: a statement must run inside its transaction's work");
  return open;
}

/**
 * Opens a transaction with PGlite's own `transaction` (BEGIN, then COMMIT or ROLLBACK); resolves once it holds
 * the session (rejects when BEGIN fails) and keeps it open until the adapter's `end` calls `finish`.
 */
function begin(pg: PGlite): Promise<OpenTransaction> {
  return new Promise((opened, failed) => {
    let replyTo: number | undefined;
    pg.transaction(async (tx) => {
      const commit = await new Promise<boolean>((resolve) =>
        opened({
          tx,
          finish(commit, endId) {
            replyTo = endId;
            resolve(commit);
          },
        }),
      );
      if (!commit) throw ROLLBACK;
    }).then(
      () => reply({ id: replyTo!, rows: [] }),
      (err: unknown) => {
        if (replyTo === undefined) failed(err);
        else if (err === ROLLBACK) reply({ id: replyTo, rows: [] });
        else fail(replyTo, err);
      },
    );
  });
}

port.on("message", (request: PGliteRequest) => {
  if (request.op === "begin") {
    // Known at once, so the statements sent right behind it find it (and a failed start fails them too).
    const open = session.then(begin);
    transactions.set(request.id, open);
    open.then(
      () => reply({ id: request.id, rows: [] }),
      (err: unknown) => fail(request.id, err),
    );
    return;
  }
  handle(request).catch((err: unknown) => fail(request.id, err));
});
