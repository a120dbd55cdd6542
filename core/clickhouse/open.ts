import path from "node:path";
import { ChdbClickHouseStore, DEFAULT_CHDB_DATA_DIR } from "./chdb-adapter.ts";
import { HttpClickHouseStore } from "./http-adapter.ts";
import type { ClickHouseStore } from "./port.ts";

export interface OpenClickHouseOptions {
  /** Data directory for the in-process engine when the URL is unset or `chdb://`. */
  dataDir?: string;
  requestTimeoutMs?: number;
}

type Opener = (url: string, options: OpenClickHouseOptions) => Promise<ClickHouseStore>;

const openers = new Map<string, Opener>();

/** Registers the adapter for URLs starting with any of `prefixes` (Gorse's storage Register/Open). */
export function registerClickHouseAdapter(prefixes: readonly string[], opener: Opener): void {
  for (const prefix of prefixes) openers.set(prefix, opener);
}

/**
 * Opens the store a URL names: unset or `chdb://[path]` → in-process chdb (a relative path is
 * resolved against the working directory, empty → `options.dataDir` or `.reckon/clickhouse`);
 * `http://` / `https://` → a ClickHouse server through @clickhouse/client.
 */
export async function openClickHouse(
  url: string | undefined,
  options: OpenClickHouseOptions = {},
): Promise<ClickHouseStore> {
  const target = url === undefined || url === "" ? "chdb://" : url;
  for (const [prefix, opener] of openers) {
    if (target.startsWith(prefix)) return opener(target, options);
  }
  throw new Error(
    `no ClickHouse adapter for ${JSON.stringify(target)}: expected one of ${[...openers.keys()].join(", ")}`,
  );
}

registerClickHouseAdapter(["chdb://"], (url, options) => {
  const rest = url.slice("chdb://".length);
  const dataDir = rest === "" ? (options.dataDir ?? DEFAULT_CHDB_DATA_DIR) : path.resolve(rest);
  return ChdbClickHouseStore.open({ dataDir });
});

registerClickHouseAdapter(["http://", "https://"], async (url, options) => {
  const store = new HttpClickHouseStore(url, options);
  return store;
});
