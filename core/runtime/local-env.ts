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

const STORE_VARIABLES = ["DATABASE_URL", "KAFKA_BROKERS", "REDIS_URL"] as const;

/** KEY=VALUE lines (comments and blanks ignored), as `stack.sh` writes them. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim().replace(/^(['"])(.*)\1$/, "$2");
  }
  return out;
}

/**
 * With no store configured in the environment, brings the local stack up (idempotent, quick when already up)
 * and uses the connection settings it wrote. Values already in the environment always win.
 */
export function applyLocalStackDefaults(env: NodeJS.ProcessEnv = process.env): void {
  const configured = STORE_VARIABLES.some((v) => env[v]);
  if (!configured) {
    logger.info("no store configured: bringing the local stack up (npm run stack:up)");
    execFileSync("bash", [path.join(REPO_ROOT, "deploy/local-stack/stack.sh"), "up"], { stdio: "inherit" });
  }
  if (!configured && existsSync(STACK_ENV)) {
    for (const [k, v] of Object.entries(parseEnvFile(readFileSync(STACK_ENV, "utf8")))) env[k] ??= v;
  }
}

/**
 * With no API key configured, a local install gets generated keys (kept in .reckon/keys.env and printed once),
 * rather than running open or refusing to start.
 */
export function applyLocalKeys(env: NodeJS.ProcessEnv = process.env): void {
  if (env.RECKON_WRITE_KEYS || env.RECKON_READ_KEYS || env.RECKON_ADMIN_KEYS) return;
  if (!existsSync(KEYS_ENV)) {
    mkdirSync(STATE_DIR, { recursive: true });
    const key = (kind: string) => `rk_${kind}_${randomBytes(18).toString("base64url")}`;
    writeFileSync(
      KEYS_ENV,
      `RECKON_WRITE_KEYS=${key("write")}\nRECKON_READ_KEYS=${key("read")}\nRECKON_ADMIN_KEYS=${key("admin")}\n`,
      { mode: 0o600 },
    );
    logger.warn({ file: KEYS_ENV }, "no API keys configured: generated local keys; see the file for them");
  }
  for (const [k, v] of Object.entries(parseEnvFile(readFileSync(KEYS_ENV, "utf8")))) env[k] ??= v;
}

/**
 * With no password configured for the ClickHouse-compatible endpoint, a local install gets a generated one,
 * kept beside the API keys in .reckon/keys.env, so the endpoint never runs without credentials.
 */
export function applyLocalClickHouseCredentials(
  env: NodeJS.ProcessEnv = process.env,
  keysFile = KEYS_ENV,
): void {
  if (env.CLICKHOUSE_HTTP_PASSWORD) return;
  const stored = existsSync(keysFile) ? parseEnvFile(readFileSync(keysFile, "utf8")) : {};
  if (!stored.CLICKHOUSE_HTTP_PASSWORD) {
    mkdirSync(path.dirname(keysFile), { recursive: true });
    appendFileSync(keysFile, `CLICKHOUSE_HTTP_PASSWORD=ch_${randomBytes(24).toString("base64url")}\n`, {
      mode: 0o600,
    });
    logger.warn(
      { file: keysFile },
      "no ClickHouse endpoint password configured: generated a local one; see the file for it",
    );
  }
  env.CLICKHOUSE_HTTP_PASSWORD = parseEnvFile(readFileSync(keysFile, "utf8")).CLICKHOUSE_HTTP_PASSWORD;
}
