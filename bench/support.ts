import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../core/runtime/local-env.ts";

/** Shared helpers for `npm run bench`: the server under test runs in its own process, load comes from k6. */

/** Where this workplace keeps the development data set (MovieLens ml-latest-small); never copied into the repo. */
export const DEFAULT_DATASET_DIR = path.resolve(REPO_ROOT, "../shared/datasets/ml-latest-small");

export function k6Path(): string {
  const out = execFileSync("bash", [path.join(REPO_ROOT, "deploy/local-stack/stack.sh"), "k6"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const bin = out.trim().split("\n").pop()!.trim();
  if (!existsSync(bin)) throw new Error(`k6 not found at ${bin}`);
  return bin;
}

export interface K6Summary {
  metrics: Record<string, { values: Record<string, number> }>;
}

/** Runs a k6 script with env; returns its summary JSON (k6 --summary-export). */
export function runK6(script: string, env: Record<string, string>): K6Summary {
  const dir = mkdtempSync(path.join(os.tmpdir(), "reckon-k6-"));
  const summaryFile = path.join(dir, "summary.json");
  execFileSync(k6Path(), ["run", "--quiet", "--no-color", "--summary-export", summaryFile, script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const raw = JSON.parse(readFileSync(summaryFile, "utf8")) as Record<
    string,
    Record<string, Record<string, number>>
  >;
  // --summary-export writes metrics as { name: { p(99): .., med: .. } }; normalise to { values }.
  const metrics: K6Summary["metrics"] = {};
  for (const [name, values] of Object.entries(raw.metrics ?? {}))
    metrics[name] = { values: values as Record<string, number> };
  return { metrics };
}

/** Starts `reckon start --roles ...` in a child process and waits for /healthz. */
export async function startServer(
  roles: string,
  env: Record<string, string>,
  healthyWithinMs = 60_000,
): Promise<{ url: string; child: ChildProcess; stop: () => Promise<void> }> {
  const port = env.PORT ?? String(18000 + Math.floor(Math.random() * 1000));
  const child = spawn(
    process.execPath,
    [
      // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR": profile the servers a bench starts (not allowed in NODE_OPTIONS).
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
      "--import",
      "tsx",
      path.join(REPO_ROOT, "bin/reckon.ts"),
      "start",
      "--roles",
      roles,
    ],
    {
      env: { ...process.env, LOG_LEVEL: "warn", ...env, PORT: port, HOST: "127.0.0.1" },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + healthyWithinMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > deadline)
      throw new Error(`server did not become healthy in ${healthyWithinMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** A bench file run directly: print its JSON result and exit (non-zero with the error when it fails). */
export function printResultAndExit(result: Promise<unknown>): void {
  result.then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined when unreadable. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

/**
 * Seconds until every projector reports lag 0 at or past the log head (`GET /v1/status` on `base`, polled every
 * `pollMs`); fails after `timeoutMs`.
 */
export async function waitForProjections(
  base: string,
  headers: Record<string, string>,
  { timeoutMs = 900_000, pollMs = 1000 }: { timeoutMs?: number; pollMs?: number } = {},
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const status = (await (await fetch(`${base}/v1/status`, { headers })).json()) as {
      projectors: { lag: number }[];
    };
    if (status.projectors.length > 0 && status.projectors.every((p) => p.lag === 0)) break;
    if (performance.now() - started > timeoutMs)
      throw new Error(`projections did not catch up in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return (performance.now() - started) / 1000;
}

/** Where a bench runs Reckon: on the server stack, embedded (no server), or both one after the other. */
export type BenchMode = "embedded" | "stack";
export const BENCH_MODES = ["embedded", "stack", "both"] as const;
export const modesOf = (mode: BenchMode | "both"): BenchMode[] =>
  mode === "both" ? ["stack", "embedded"] : [mode];

/** The store variables a child must not inherit in embedded mode (empty counts as unset). */
const NO_STORES = {
  DATABASE_URL: "",
  KAFKA_BROKERS: "",
  REDIS_URL: "",
  CLICKHOUSE_URL: "",
  RECKON_LOCAL_STACK: "0",
};

/**
 * `reckon start` with every role on the embedded stores in a fresh data directory (removed by `cleanup`), the
 * ClickHouse endpoint on a free loopback port (`clickhousePort`).
 */
export async function startEmbeddedServer(env: Record<string, string>): Promise<{
  url: string;
  child: ChildProcess;
  dataDir: string;
  clickhousePort: number;
  stop: () => Promise<void>;
  cleanup: () => Promise<void>;
}> {
  // A given RECKON_DATA_DIR is reused (a restart); otherwise a fresh one.
  const dataDir = env.RECKON_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), "reckon-bench-embedded-"));
  const clickhousePort = 19000 + Math.floor(Math.random() * 1000);
  const server = await startServer(
    "ingest,relay,projectors,serving,analytics",
    {
      ...NO_STORES,
      CLICKHOUSE_HTTP_PORT: String(clickhousePort),
      RECKON_TRAIN_INTERVAL_MINUTES: "0",
      ...env,
      RECKON_DATA_DIR: dataDir,
    },
    180_000,
  );
  return {
    ...server,
    dataDir,
    clickhousePort,
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
