import { ConfigError, loadVariables, type RawEnv } from "./env.ts";

/**
 * The logger's level: LOG_LEVEL, else `warn` under NODE_ENV=test and `info` otherwise. It is read when the
 * logger module loads, before start-up parses the rest, because every module logs from its first line. A bad
 * LOG_LEVEL falls back to the default here and is reported with every other bad variable by `loadEnv`.
 */
export function logLevel(source: RawEnv = process.env): string {
  const { NODE_ENV } = loadVariables(["NODE_ENV"], source);
  const fallback = NODE_ENV === "test" ? "warn" : "info";
  try {
    return loadVariables(["LOG_LEVEL"], source).LOG_LEVEL ?? fallback;
  } catch (err) {
    if (err instanceof ConfigError) return fallback;
    throw err;
  }
}
