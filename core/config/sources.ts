import path from "node:path";
import type { RawEnv } from "./env.ts";
import { embeddedStoreUrls } from "./composition.ts";

/** Where a variable's effective value comes from. */
export type Source = "env" | ".reckon/stack.env" | ".reckon/keys.env" | "embedded" | "default";

const STORE_VARIABLES = ["DATABASE_URL", "KAFKA_BROKERS", "REDIS_URL"] as const;
const KEY_VARIABLES = ["RECKON_WRITE_KEYS", "RECKON_READ_KEYS", "RECKON_ADMIN_KEYS"] as const;

const isSet = (env: RawEnv, name: string) => env[name] !== undefined && env[name] !== "";

/** No store is configured: with RECKON_LOCAL_STACK a local install uses the local stack (.reckon/stack.env). */
export const storesConfigured = (env: RawEnv) => STORE_VARIABLES.some((v) => isSet(env, v));
/** RECKON_LOCAL_STACK asks for the local server stack in place of the embedded stores. */
export const localStackRequested = (env: RawEnv) =>
  env.RECKON_LOCAL_STACK === "1" || env.RECKON_LOCAL_STACK === "true";

/** The embedded stores' directory: RECKON_DATA_DIR (from the working directory), else `defaultDir`. */
export const dataDirOf = (env: RawEnv, defaultDir: string) =>
  isSet(env, "RECKON_DATA_DIR") ? path.resolve(env.RECKON_DATA_DIR!) : defaultDir;

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

/** What of the local files a local install takes for `env`: the conditions `layerSources` branches on. */
export interface LocalFileUses {
  /** The local stack's connection settings (.reckon/stack.env): RECKON_LOCAL_STACK and no store configured. */
  stack: boolean;
  /** The generated API keys (.reckon/keys.env): no key configured. */
  keys: boolean;
  /** The generated password of the in-process SQL endpoint (.reckon/keys.env): none configured. */
  clickHousePassword: boolean;
}

export const localFileUses = (env: RawEnv): LocalFileUses => ({
  stack: localStackRequested(env) && !storesConfigured(env),
  keys: !keysConfigured(env),
  clickHousePassword: clickHouseEndpointNeedsLocalPassword(env),
});

/** Which of the local files (.reckon/stack.env, .reckon/keys.env) `layerSources` takes values from for `env`. */
export const localFilesWanted = (env: RawEnv): { stack: boolean; keys: boolean } => {
  const uses = localFileUses(env);
  return { stack: uses.stack, keys: uses.keys || uses.clickHousePassword };
};

/**
 * The environment, completed the way `reckon start` does, never over a value the environment sets: each unset
 * store URL names its embedded store under the data directory (`dataDir`), or, with RECKON_LOCAL_STACK and no
 * store configured, the local stack's connection settings (.reckon/stack.env); the generated keys only when
 * no key is configured.
 */
export function layerSources(
  env: RawEnv,
  files: { stack: Record<string, string>; keys: Record<string, string> },
  dataDir: string,
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
  const uses = localFileUses(env);
  if (uses.stack) {
    fill(files.stack, ".reckon/stack.env");
    if (Object.keys(files.stack).length === 0)
      notes.push(
        "RECKON_LOCAL_STACK=1 and no .reckon/stack.env yet: `reckon start` brings the local stack up and writes it",
      );
  } else {
    const embedded = embeddedStoreUrls(dataDirOf(env, dataDir));
    // chdb follows the database: beside a Postgres server it keeps its own default directory, as before.
    const names = isSet(env, "DATABASE_URL")
      ? (["REDIS_URL"] as const)
      : (["DATABASE_URL", "REDIS_URL", "CLICKHOUSE_URL"] as const);
    fill(Object.fromEntries(names.map((n) => [n, embedded[n]])), "embedded");
  }
  if (uses.keys) {
    fill(files.keys, ".reckon/keys.env");
    if (!KEY_VARIABLES.some((name) => isSet(files.keys, name)))
      notes.push(
        "no API key configured and none in .reckon/keys.env yet: `reckon start` generates local keys into it",
      );
  }
  // The endpoint's generated password is taken whenever none is configured, also beside configured API keys.
  if (uses.clickHousePassword) {
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

/**
 * The start banner's line saying where the API keys come from when they are the generated local ones (the file
 * to read them from, and how to use one's own); undefined when the environment configures them.
 */
export function describeLocalKeys(layered: LayeredEnv, keysFile: string): string | undefined {
  const fromFile = KEY_VARIABLES.filter((name) => layered.fromFile[name] === ".reckon/keys.env");
  if (fromFile.length === 0) return undefined;
  return (
    `  ${"API keys".padEnd(18)}generated locally: ${fromFile.join(", ")} in ${keysFile}\n` +
    `  ${"".padEnd(18)}→ set ${KEY_VARIABLES.join(", ")} to use your own`
  );
}
