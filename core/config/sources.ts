import type { RawEnv } from "./env.ts";

/** Where a variable's effective value comes from. */
export type Source = "env" | ".reckon/stack.env" | ".reckon/keys.env" | "default";

const STORE_VARIABLES = ["DATABASE_URL", "KAFKA_BROKERS", "REDIS_URL"] as const;
const KEY_VARIABLES = ["RECKON_WRITE_KEYS", "RECKON_READ_KEYS", "RECKON_ADMIN_KEYS"] as const;

const isSet = (env: RawEnv, name: string) => env[name] !== undefined && env[name] !== "";

/** No store is configured: a local install uses the local stack (.reckon/stack.env). */
export const storesConfigured = (env: RawEnv) => STORE_VARIABLES.some((v) => isSet(env, v));
/** No API key is configured: a local install uses generated keys (.reckon/keys.env). */
export const keysConfigured = (env: RawEnv) => KEY_VARIABLES.some((v) => isSet(env, v));

/**
 * The in-process engine serves a ClickHouse-compatible endpoint, which always requires credentials: without a
 * configured password a local install uses a generated one (.reckon/keys.env). A ClickHouse server needs none.
 */
export const clickHouseEndpointNeedsLocalPassword = (env: RawEnv) =>
  !isSet(env, "CLICKHOUSE_HTTP_PASSWORD") &&
  (!isSet(env, "CLICKHOUSE_URL") || env.CLICKHOUSE_URL!.startsWith("chdb://"));

export interface LayeredEnv {
  values: Record<string, string | undefined>;
  /** The file a value was taken from; names absent here come from the environment or their default. */
  fromFile: Record<string, Source>;
  /** What `reckon start` would add first (a file it writes), when that is still to come. */
  notes: string[];
}

/**
 * The environment, completed from the .reckon files the way `reckon start` does: the local stack's connection
 * settings only when no store is configured, the generated keys only when no key is, and never over a value
 * the environment sets.
 */
export function layerSources(
  env: RawEnv,
  files: { stack: Record<string, string>; keys: Record<string, string> },
): LayeredEnv {
  const values: Record<string, string | undefined> = { ...env };
  const fromFile: Record<string, Source> = {};
  const fill = (file: Record<string, string>, source: Source) => {
    for (const [name, value] of Object.entries(file))
      if (!isSet(values, name)) {
        values[name] = value;
        fromFile[name] = source;
      }
  };
  const notes: string[] = [];
  if (!storesConfigured(env)) {
    fill(files.stack, ".reckon/stack.env");
    if (Object.keys(files.stack).length === 0)
      notes.push(
        "no store configured and no .reckon/stack.env yet: `reckon start` brings the local stack up and writes it",
      );
  }
  if (!keysConfigured(env)) {
    fill(files.keys, ".reckon/keys.env");
    if (Object.keys(files.keys).length === 0)
      notes.push(
        "no API key configured and no .reckon/keys.env yet: `reckon start` generates local keys into it",
      );
  }
  // The endpoint's generated password is taken whenever none is configured, also beside configured API keys.
  if (clickHouseEndpointNeedsLocalPassword(env)) {
    const generated = files.keys.CLICKHOUSE_HTTP_PASSWORD;
    if (generated) {
      values.CLICKHOUSE_HTTP_PASSWORD = generated;
      fromFile.CLICKHOUSE_HTTP_PASSWORD = ".reckon/keys.env";
    }
  }
  return { values, fromFile, notes };
}

/** Where `name`'s effective value comes from. */
export function sourceOf(layered: LayeredEnv, name: string): Source {
  return layered.fromFile[name] ?? (isSet(layered.values, name) ? "env" : "default");
}
