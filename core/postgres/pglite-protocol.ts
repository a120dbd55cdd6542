/**
 * The messages between the embedded database's adapter (on the event loop that answers HTTP) and the worker
 * thread that runs PGlite (pglite-worker.ts). Everything crosses by structured clone, which keeps what PGlite's
 * parsers produce (numbers, strings, `Date`, `Uint8Array`, parsed jsonb) as it is.
 */

export type PGliteRequest =
  | { id: number; op: "query"; sql: string; params?: unknown[]; tx?: number }
  | { id: number; op: "begin" }
  | { id: number; op: "end"; tx: number; commit: boolean }
  | { id: number; op: "listen"; channel: string }
  | { id: number; op: "unlisten"; listener: number }
  | { id: number; op: "close" };

export type PGliteReply =
  | { id: number; rows: unknown[] }
  | { id: number; error: SerializedError }
  | { notify: number; payload: string };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** The error's own fields with plain values: a Postgres error's `code` (SQLSTATE), `detail`, `constraint`… */
  fields: Record<string, string | number | boolean | null>;
}

/**
 * An error as it can cross the thread boundary: a structured clone of an `Error` keeps its message but drops
 * fields such as `code`, which callers read (core/http/outage.ts tells an outage from a fault by it).
 */
export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: SerializedError["fields"] = {};
  for (const [key, value] of Object.entries(err))
    if (value === null || ["string", "number", "boolean"].includes(typeof value))
      fields[key] = value as string | number | boolean | null;
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

export function deserializeError(serialized: SerializedError): Error {
  const err = Object.assign(new Error(serialized.message), serialized.fields);
  err.name = serialized.name;
  if (serialized.stack) err.stack = serialized.stack;
  return err;
}
