import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CONNECTOR_PROPERTIES = path.join(HERE, "connector.properties");
export const WORKER_PROPERTIES = path.join(HERE, "worker.properties");
const LOG4J_PROPERTIES = path.join(HERE, "log4j2.properties");

/** Fetches (once, then cached) Kafka Connect and the Debezium Postgres connector; returns the jar directory. */
export async function fetchDebeziumLibs(timeoutMs: number): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [path.join(HERE, "fetch.sh")], { timeout: timeoutMs });
  return stdout.trim().split("\n").at(-1)!;
}

/** `key=value` lines of a Java properties file (comments and blank lines skipped; no line continuations). */
export function parseProperties(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq < 0) throw new Error(`properties line without "=": ${trimmed}`);
    entries.set(trimmed.slice(0, eq).trim(), trimmed.slice(eq + 1).trim());
  }
  return entries;
}

export function formatProperties(entries: Map<string, string>): string {
  return [...entries].map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** A shipped properties file with some keys replaced (every overridden key must exist in the file). */
export async function propertiesWith(file: string, overrides: Record<string, string>): Promise<string> {
  const entries = parseProperties(await readFile(file, "utf8"));
  for (const [k, v] of Object.entries(overrides)) {
    if (!entries.has(k)) throw new Error(`${path.basename(file)} has no key ${k} to override`);
    entries.set(k, v);
  }
  return formatProperties(entries);
}

export interface ConnectStandalone {
  /** The worker's output so far (for failure messages). */
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs `ConnectStandalone worker connector` from the jar directory, logging into `dir`. */
export async function startConnectStandalone(
  libs: string,
  dir: string,
  worker: string,
  connector: string,
): Promise<ConnectStandalone> {
  const workerFile = path.join(dir, "worker.properties");
  const connectorFile = path.join(dir, "connector.properties");
  const logFile = path.join(dir, "connect.log");
  await writeFile(workerFile, worker);
  await writeFile(connectorFile, connector);
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(
    "java",
    [
      "-Xmx512m",
      `-Dlog4j2.configurationFile=${LOG4J_PROPERTIES}`,
      "-cp",
      `${libs}/*`,
      "org.apache.kafka.connect.cli.ConnectStandalone",
      workerFile,
      connectorFile,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async logTail() {
      const text = await readFile(logFile, "utf8").catch(() => "");
      return text.split("\n").slice(-40).join("\n");
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(killer);
      }
      log.end();
    },
  };
}
