import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { logger } from "../logger.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const STATE_DIR = path.join(REPO_ROOT, ".reckon");
const STACK_ENV = path.join(STATE_DIR, "stack.env");
export const KEYS_ENV = path.join(STATE_DIR, "keys.env");

/** KEY=VALUE lines (comments and blanks ignored), as `stack.sh` writes them. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^(['"])(.*)\1$/, "$2");
  }
  return out;
}

/** The settings a local install keeps under .reckon/ (each empty when its file is missing). */
export interface LocalFiles {
  /** Connection settings of the local stack, written by `stack.sh up`. */
  stack: Record<string, string>;
  /** Generated API keys (see ensureLocalKeysFile). */
  keys: Record<string, string>;
}

/**
 * Reads the files the configuration will use (`wanted`; see core/config/sources.ts localFilesWanted), and only
 * those: a process whose environment configures everything never opens them, so it runs from a checkout whose
 * `.reckon/` another user owns (the keys file is that user's, mode 0600).
 */
export function readLocalFiles(wanted: { stack: boolean; keys: boolean }): LocalFiles {
  const read = (file: string) => (existsSync(file) ? parseEnvFile(readFileSync(file, "utf8")) : {});
  return { stack: wanted.stack ? read(STACK_ENV) : {}, keys: wanted.keys ? read(KEYS_ENV) : {} };
}

/** Brings the local stack up (idempotent, quick when already up); it writes .reckon/stack.env. */
export function bringLocalStackUp(): void {
  logger.info("RECKON_LOCAL_STACK=1 and no store configured: bringing the local stack up (npm run stack:up)");
  execFileSync("bash", [path.join(REPO_ROOT, "deploy/local-stack/stack.sh"), "up"], { stdio: "inherit" });
}

/** The API key variables a local install generates, each with the scope its generated key names. */
const LOCAL_API_KEYS = {
  RECKON_WRITE_KEYS: "write",
  RECKON_READ_KEYS: "read",
  RECKON_ADMIN_KEYS: "admin",
} as const;

/**
 * Generates into .reckon/keys.env each local API key it lacks (also when the file exists holding only other
 * values, such as the ClickHouse endpoint's password), so that a local install without configured keys neither
 * runs open nor answers every call 401; the file is where the operator finds them. Values already in the file
 * are kept as they are. Returns the names it generated.
 */
export function ensureLocalKeysFile(keysFile = KEYS_ENV): string[] {
  const key = (kind: string) => `rk_${kind}_${randomBytes(18).toString("base64url")}`;
  const added = appendMissing(
    keysFile,
    Object.fromEntries(Object.entries(LOCAL_API_KEYS).map(([name, kind]) => [name, () => key(kind)])),
  );
  if (added.length > 0)
    logger.warn(
      { file: keysFile, generated: added },
      "no API keys configured: generated local keys; see the file for them",
    );
  return added;
}

/**
 * A password for the ClickHouse-compatible endpoint of a local install that configures none, generated once
 * into .reckon/keys.env beside the API keys, so the endpoint never runs without credentials. The caller decides
 * when one is needed (core/config/resolve.ts); the configuration then reads it from the file.
 */
export function ensureLocalClickHousePassword(keysFile = KEYS_ENV): void {
  const added = appendMissing(keysFile, {
    CLICKHOUSE_HTTP_PASSWORD: () => `ch_${randomBytes(24).toString("base64url")}`,
  });
  if (added.length > 0)
    logger.warn(
      { file: keysFile },
      "no ClickHouse endpoint password configured: generated a local one; see the file for it",
    );
}

/**
 * Appends `NAME=value` for each name of `generators` the env file lacks, in one write, and returns those names.
 * Processes starting together (workers, two `reckon start`) take an exclusive lock file first, so each reads
 * the file as the previous one left it and no name is generated twice. A new file is created mode 0600.
 */
function appendMissing(file: string, generators: Record<string, () => string>): string[] {
  mkdirSync(path.dirname(file), { recursive: true });
  return withLockFile(`${file}.lock`, () => {
    const stored = existsSync(file) ? readFileSync(file, "utf8") : "";
    const present = parseEnvFile(stored);
    const missing = Object.keys(generators).filter((name) => !present[name]);
    if (missing.length === 0) return [];
    // A file that does not end in a newline (edited by hand) still gets its own line per value.
    const separator = stored === "" || stored.endsWith("\n") ? "" : "\n";
    const lines = missing.map((name) => `${name}=${generators[name]!()}\n`).join("");
    appendFileSync(file, separator + lines, { mode: 0o600 });
    return missing;
  });
}

/** A lock older than this was left by a process that died holding it (the work under it takes milliseconds). */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 30_000;

/** Runs `work` holding `lockFile` (created exclusively, removed after), waiting while another process holds it. */
function withLockFile<T>(lockFile: string, work: () => T): T {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(lockFile, "wx", 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (lockAgeMs(lockFile) > STALE_LOCK_MS) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(
          `${lockFile} is held by another process for more than ${LOCK_WAIT_MS} ms; remove it if none runs`,
          { cause: error },
        );
      // Start-up is synchronous here; a short blocking sleep keeps it so.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}

const lockAgeMs = (lockFile: string): number => {
  try {
    return Date.now() - statSync(lockFile).mtimeMs;
  } catch {
    return 0; // released meanwhile: the next attempt takes it
  }
};
