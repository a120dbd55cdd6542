import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import { STORE_SETTINGS } from "./chdb-adapter.ts";
import { assertTableName, encodeJsonRow } from "./params.ts";
import { ClickHouseStoreError, type ClickHouseStore, type InsertRow, type QueryParams } from "./port.ts";

export interface HttpStoreOptions {
  /** Per-request timeout, ms (the client's default is 30 s). */
  requestTimeoutMs?: number;
}

/** ClickHouseStore over a ClickHouse server's HTTP interface (or Reckon's own endpoint) via @clickhouse/client. */
export class HttpClickHouseStore implements ClickHouseStore {
  readonly #client: ClickHouseClient;

  constructor(url: string, options: HttpStoreOptions = {}) {
    this.#client = createClient({
      url,
      request_timeout: options.requestTimeoutMs ?? 30_000,
      // Failures reach the caller as ClickHouseStoreError; the client's own error log would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: {
        output_format_json_quote_64bit_integers: Number(
          STORE_SETTINGS.output_format_json_quote_64bit_integers,
        ) as 0 | 1,
        date_time_input_format: STORE_SETTINGS.date_time_input_format as "best_effort",
      },
      // Same row encoding as the chdb adapter (bigints as exact strings).
      json: { parse: JSON.parse, stringify: (value: unknown) => encodeJsonRow(value as InsertRow) },
    });
  }

  async command(sql: string, params?: QueryParams): Promise<void> {
    await translate(() =>
      this.#client.command({ query: sql, query_params: params as Record<string, unknown> }),
    );
  }

  async query<T = Record<string, unknown>>(sql: string, params?: QueryParams): Promise<T[]> {
    return translate(async () => {
      const result = await this.#client.query({
        query: sql,
        query_params: params as Record<string, unknown>,
        format: "JSONEachRow",
      });
      return result.json<T>();
    });
  }

  async insert<T extends InsertRow>(table: string, rows: readonly T[]): Promise<void> {
    if (rows.length === 0) return;
    const target = assertTableName(table);
    await translate(() => this.#client.insert({ table: target, values: [...rows], format: "JSONEachRow" }));
  }

  async ping(): Promise<boolean> {
    const result = await this.#client.ping();
    return result.success;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

async function translate<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ClickHouseError) {
      throw new ClickHouseStoreError(error.message, Number(error.code), error.type ?? "UNKNOWN", {
        cause: error,
      });
    }
    // Transport failures (refused connection, timeout) are not ClickHouse errors: pass them on as they are.
    throw error;
  }
}
