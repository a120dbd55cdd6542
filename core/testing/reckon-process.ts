import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../runtime/local-env.ts";

/**
 * `reckon start` as a separate process, as an operator runs it, for specs, the embedded proof and benchmarks:
 * its environment is only what the caller gives (plus PATH and HOME), so nothing of the caller's shell or
 * stack leaks in. It reports the HTTP port and the ClickHouse endpoint from its own log lines (PORT=0 and
 * CLICKHOUSE_HTTP_PORT=0 pick free ports).
 */
export interface ReckonProcess {
  child: ChildProcess;
  pid: number;
  /** http://127.0.0.1:PORT of the HTTP API. */
  api: string;
  /** URL of the ClickHouse-compatible endpoint, when served. */
  clickhouse: string | undefined;
  /** Everything printed so far (stdout and stderr, interleaved). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait (a graceful stop). */
  stop(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  args?: readonly string[];
  /** Longest wait for the API to listen (the first start of PGlite and chdb creates their data). */
  timeoutMs?: number;
}

/** Starts `reckon start` and resolves once its HTTP API listens; rejects (with its output) if it exits first. */
export function startReckonProcess(options: StartOptions): Promise<ReckonProcess> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "start", ...(options.args ?? [])],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let api: string | undefined;
    let clickhouse: string | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`reckon start did not listen within ${options.timeoutMs ?? 180_000} ms:\n${text}`));
    }, options.timeoutMs ?? 180_000);
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      for (const line of text.split("\n")) {
        if (!line.startsWith("{")) continue;
        let entry: { msg?: string; port?: number; url?: string };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg?.startsWith("ClickHouse-compatible HTTP endpoint")) clickhouse = entry.url;
        if (entry.msg === "reckon HTTP API listening" && entry.port !== undefined)
          api = `http://127.0.0.1:${entry.port}`;
      }
      if (api !== undefined) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stderr!.off("data", onData);
        // Keep collecting the output for the caller.
        child.stdout!.on("data", (c: Buffer) => (text += c.toString("utf8")));
        child.stderr!.on("data", (c: Buffer) => (text += c.toString("utf8")));
        resolve({
          child,
          pid: child.pid!,
          api,
          clickhouse,
          output: () => text,
          exited,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
            await exited;
          },
        });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(({ code, signal }) => {
      if (api !== undefined) return;
      clearTimeout(timer);
      reject(new Error(`reckon start exited (code ${code}, signal ${signal}) before listening:\n${text}`));
    });
  });
}

/** Runs `reckon start` expecting it to refuse: resolves with its exit code and output. */
export async function startRefused(options: StartOptions): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "start", ...(options.args ?? [])],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}
