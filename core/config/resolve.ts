import {
  bringLocalStackUp,
  ensureLocalClickHousePassword,
  ensureLocalKeysFile,
  readLocalFiles,
} from "../runtime/local-env.ts";
import { loadEnv, loadVariables, type Env, type RawEnv } from "./env.ts";
import {
  clickHouseEndpointNeedsLocalPassword,
  keysConfigured,
  layerSources,
  storesConfigured,
  type LayeredEnv,
} from "./sources.ts";

/**
 * The configuration a command starts with: the environment, completed from .reckon/ when nothing is configured
 * (bringing the local stack up and generating local keys first), parsed once. The environment itself is left
 * as it is; the typed result is what is passed down.
 */
export function resolveEnv(env: RawEnv = process.env): Env {
  if (!storesConfigured(env)) bringLocalStackUp();
  if (!keysConfigured(env)) ensureLocalKeysFile();
  if (clickHouseEndpointNeedsLocalPassword(env)) ensureLocalClickHousePassword();
  return loadEnv(layerSources(env, readLocalFiles()).values);
}

/** What `resolveEnv` would use, without starting or writing anything (for `reckon config`). */
export function layeredEnv(env: RawEnv = process.env): LayeredEnv {
  return layerSources(env, readLocalFiles());
}

/** RECKON_WORKERS, which `reckon start` needs before it forks (each worker then resolves the rest). */
export const workersSetting = (env: RawEnv = process.env): number =>
  loadVariables(["RECKON_WORKERS"], env).RECKON_WORKERS;
