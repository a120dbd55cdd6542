import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { logger } from "../logger.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const STATE_DIR = path.join(REPO_ROOT, ".reckon");
const STACK_ENV = path.join(STATE_DIR, "stack.env");
const KEYS_ENV = path.join(STATE_DIR, "keys.env");

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

/**
 * Generates local API keys into .reckon/keys.env unless it exists, so that a local install without configured
 * keys neither runs open nor refuses to start; the file is where the operator finds them.
 */
export function ensureLocalKeysFile(): void {
  if (existsSync(KEYS_ENV)) return;
  mkdirSync(STATE_DIR, { recursive: true });
  const key = (kind: string) => `rk_${kind}_${randomBytes(18).toString("base64url")}`;
  writeFileSync(
    KEYS_ENV,
    `RECKON_WRITE_KEYS=${key("write")}\nRECKON_READ_KEYS=${key("read")}\nRECKON_ADMIN_KEYS=${key("admin")}\n`,
    { mode: 0o600 },
  );
  logger.warn({ file: KEYS_ENV }, "no API keys configured: generated local keys; see the file for them");
}

/**
 * A password for the ClickHouse-compatible endpoint of a local install that configures none, generated once
 * into .reckon/keys.env beside the API keys, so the endpoint never runs without credentials. The caller decides
 * when one is needed (core/config/resolve.ts); the configuration then reads it from the file.
 */
export function ensureLocalClickHousePassword(keysFile = KEYS_ENV): void {
  const stored = existsSync(keysFile) ? parseEnvFile(readFileSync(keysFile, "utf8")) : {};
  if (stored.CLICKHOUSE_HTTP_PASSWORD) return;
  mkdirSync(path.dirname(keysFile), { recursive: true });
  appendFileSync(keysFile, `CLICKHOUSE_HTTP_PASSWORD=ch_${randomBytes(24).toString("base64url")}\n`, {
    mode: 0o600,
  });
  logger.warn(
    { file: keysFile },
    "no ClickHouse endpoint password configured: generated a local one; see the file for it",
  );
}
