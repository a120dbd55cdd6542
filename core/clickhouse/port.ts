/**
 * The ClickHouse port: the only surface analytics code uses to reach its read models.
 * Two adapters implement it (in-process chdb, and a ClickHouse server over HTTP); both pass
 * the same conformance suite, so SQL written against one runs on the other.
 */

/** A value bound to a `{name:Type}` placeholder; the server parses it as the declared Type. */
export type QueryParamValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | null
  | undefined
  | readonly QueryParamValue[]
  | { readonly [key: string]: QueryParamValue };

export type QueryParams = Readonly<Record<string, QueryParamValue>>;

/** A row for `insert`: keys are column names. Dates become ISO-8601 strings, bigints exact decimal strings. */
export type InsertRow = Readonly<Record<string, unknown>>;

export interface ClickHouseStore {
  /** Runs a statement that returns no rows (DDL, INSERT ... SELECT, OPTIMIZE, ...). */
  command(sql: string, params?: QueryParams): Promise<void>;
  /**
   * Runs a SELECT and returns its rows as JSONEachRow objects. Do not add a FORMAT clause.
   * 64-bit integers come back as strings (output_format_json_quote_64bit_integers=1 on both
   * adapters) so ids and counts past 2^53 stay exact.
   */
  query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]>;
  /** Inserts rows in one batch (JSONEachRow). An empty array is a no-op. */
  insert<T extends InsertRow>(table: string, rows: readonly T[]): Promise<void>;
  /** True when the engine answers; never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A failure reported by ClickHouse, the same from both adapters: the numeric error code
 * (60 for an unknown table, 62 for a syntax error, ...) and its name (UNKNOWN_TABLE, ...).
 */
export class ClickHouseStoreError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly type: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ClickHouseStoreError";
  }
}
