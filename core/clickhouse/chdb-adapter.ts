import { fileURLToPath } from "node:url";
import { ChdbEngine, type ChdbConnection } from "./chdb-engine.ts";
import { assertTableName, encodeJsonRow, formatQueryParam } from "./params.ts";
import type { ClickHouseStore, InsertRow, QueryParams } from "./port.ts";

/** `.reckon/clickhouse` under the repository root. */
export const DEFAULT_CHDB_DATA_DIR = fileURLToPath(new URL("../../.reckon/clickhouse", import.meta.url));

/** Settings pinned on the store's connection; the HTTP adapter sends the same ones per query. */
export const STORE_SETTINGS: Readonly<Record<string, string>> = {
  output_format_json_quote_64bit_integers: "1",
  date_time_input_format: "best_effort",
};

// Bounds the size of one INSERT payload (and of the string built for it).
const ROWS_PER_INSERT = 50_000;

export interface ChdbStoreOptions {
  /** Data directory; default `.reckon/clickhouse` under the repo. */
  dataDir?: string;
}

/**
 * Connections the store opens at most; more concurrent operations wait for one to be free. One: concurrent
 * statements inside libchdb (on one connection or on several) were seen to hang, about one run in six of the
 * conformance suite's concurrency test with 4, never in repeated runs with 1. So a store runs its operations
 * one at a time; separate stores (and the HTTP endpoint) still overlap.
 */
const MAX_CONNECTIONS = 1;

/**
 * ClickHouseStore on the in-process engine. `engine` is exposed so the HTTP endpoint can share it.
 *
 * Like a ClickHouse client connection, a chdb connection runs one statement at a time: concurrent inserts on one
 * shared connection were seen to hang inside libchdb (the analytics projection applies partitions concurrently).
 * So every operation takes a connection from a pool (see MAX_CONNECTIONS) and has it to itself.
 */
export class ChdbClickHouseStore implements ClickHouseStore {
  readonly engine: ChdbEngine;
  readonly #idle: ChdbConnection[] = [];
  readonly #waiting: ((connection: ChdbConnection) => void)[] = [];
  #opened = 0;

  private constructor(engine: ChdbEngine, connection: ChdbConnection) {
    this.engine = engine;
    this.#idle.push(connection);
    this.#opened = 1;
  }

  static async open(options: ChdbStoreOptions = {}): Promise<ChdbClickHouseStore> {
    const engine = ChdbEngine.open(options.dataDir ?? DEFAULT_CHDB_DATA_DIR);
    const connection = await engine.connect(STORE_SETTINGS);
    return new ChdbClickHouseStore(engine, connection);
  }

  async #use<T>(work: (connection: ChdbConnection) => Promise<T>): Promise<T> {
    let connection = this.#idle.pop();
    if (!connection) {
      if (this.#opened < MAX_CONNECTIONS) {
        this.#opened++;
        try {
          connection = await this.engine.connect(STORE_SETTINGS);
        } catch (error) {
          this.#opened--;
          throw error;
        }
      } else {
        connection = await new Promise<ChdbConnection>((resolve) => this.#waiting.push(resolve));
      }
    }
    try {
      return await work(connection);
    } finally {
      const next = this.#waiting.shift();
      if (next) next(connection);
      else this.#idle.push(connection);
    }
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    await this.#use((c) => c.query(sql, "TabSeparated", formatParams(params)));
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    const result = await this.#use((c) => c.query(sql, "JSONEachRow", formatParams(params)));
    const text = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength).toString(
      "utf8",
    );
    const rows: T[] = [];
    for (const line of text.split("\n")) {
      if (line.length > 0) rows.push(JSON.parse(line) as T);
    }
    return rows;
  }

  async insert<T extends InsertRow>(table: string, rows: readonly T[]): Promise<void> {
    const prefix = `INSERT INTO ${assertTableName(table)} FORMAT JSONEachRow`;
    await this.#use(async (c) => {
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        const batch = rows.slice(start, start + ROWS_PER_INSERT);
        await c.insertRaw(prefix, Buffer.from(batch.map(encodeJsonRow).join("\n"), "utf8"));
      }
    });
  }

  async ping(): Promise<boolean> {
    try {
      await this.#use((c) => c.query("SELECT 1", "TabSeparated"));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes every connection of the engine, including any the HTTP endpoint opened. */
  async close(): Promise<void> {
    await this.engine.close();
  }
}

function formatParams(params: QueryParams | undefined): Record<string, string> | undefined {
  if (params === undefined) return undefined;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, formatQueryParam(value)]));
}
