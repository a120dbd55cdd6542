import {
  bringLocalStackUp,
  ensureLocalClickHousePassword,
  ensureLocalKeysFile,
  KEYS_ENV,
  readLocalFiles,
  STATE_DIR,
} from "../runtime/local-env.ts";
import path from "node:path";
import { loadEnv, loadVariables, type Env, type RawEnv } from "./env.ts";
import { layerSources, localFileUses, localFilesWanted, type LayeredEnv } from "./sources.ts";

/** Where the embedded stores live unless RECKON_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = path.join(STATE_DIR, "data");

/**
 * The configuration a command starts with: the environment, completed with the embedded stores for every store
 * URL it leaves unset (or, with RECKON_LOCAL_STACK and no store configured, the local stack, brought up first)
 * and with generated local keys, parsed once. The environment itself is left as it is; the typed result is
 * what is passed down.
 */
export function resolveEnv(env: RawEnv = process.env): Env {
  return loadEnv(resolveRaw(env).values);
}

/** The completed raw values `resolveEnv` parses (start-up also decides the composition from them). */
export function resolveRaw(env: RawEnv = process.env): LayeredEnv {
  if (localFileUses(env).stack) bringLocalStackUp();
  ensureLocalSecrets(env);
  return layerSources(env, readLocalFiles(localFilesWanted(env)), DEFAULT_DATA_DIR);
}

/**
 * Generates into the keys file what a local install needs and `env` does not configure: the API keys while no
 * key is configured, the in-process SQL endpoint's password while none is. A value the environment sets wins
 * and nothing is written for it.
 */
export function ensureLocalSecrets(env: RawEnv, keysFile = KEYS_ENV): void {
  const uses = localFileUses(env);
  if (uses.keys) ensureLocalKeysFile(keysFile);
  if (uses.clickHousePassword) ensureLocalClickHousePassword(keysFile);
}

/** What `resolveEnv` would use, without starting or writing anything (for `reckon config`). */
export function layeredEnv(env: RawEnv = process.env): LayeredEnv {
  return layerSources(env, readLocalFiles(localFilesWanted(env)), DEFAULT_DATA_DIR);
}

/** RECKON_WORKERS, which `reckon start` needs before it forks (each worker then resolves the rest). */
export const workersSetting = (env: RawEnv = process.env): number =>
  loadVariables(["RECKON_WORKERS"], env).RECKON_WORKERS;
