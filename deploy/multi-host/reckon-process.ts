import { spawn, type ChildProcess } from "node:child_process";
import { openSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../../core/runtime/local-env.ts";
import { TEST_KEYS } from "../../core/testing/http.ts";
import { inNamespace, type Host } from "./network.ts";
import type { StoreHost } from "./stores.ts";
import { waitFor } from "./wait.ts";
import { tail } from "./log-tail.ts";

/** One `reckon start --roles …` process on a host, as an operator would run it there. */
export interface ReckonProcessSpec {
  name: string;
  host: Host;
  roles: readonly string[];
  port: number;
  env?: Record<string, string>;
}

export interface ReckonProcess {
  spec: ReckonProcessSpec;
  url: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
}

/** The partitions of the events topic: enough that two projector hosts each own several. */
export const EVENT_PARTITIONS = 6;

/**
 * The environment a Reckon process gets: the store host's addresses, the test keys, and nothing inherited that
 * names the machine's shared stack. Retraining is off (it would add CPU load and model versions mid-run).
 */
function processEnv(spec: ReckonProcessSpec, stores: StoreHost): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    ["PATH", "HOME", "LANG", "TMPDIR", "NODE_OPTIONS"].flatMap((k) =>
      process.env[k] !== undefined ? [[k, process.env[k]!]] : [],
    ),
  );
  return {
    ...inherited,
    DATABASE_URL: stores.databaseUrl,
    KAFKA_BROKERS: stores.kafkaBrokers,
    REDIS_URL: stores.redisUrl,
    KAFKA_PARTITIONS: String(EVENT_PARTITIONS),
    RECKON_WRITE_KEYS: TEST_KEYS.write,
    RECKON_READ_KEYS: TEST_KEYS.read,
    RECKON_ADMIN_KEYS: TEST_KEYS.admin,
    RECKON_TRAIN_INTERVAL_MINUTES: "0",
    HOST: "0.0.0.0",
    PORT: String(spec.port),
    LOG_LEVEL: "warn",
    ...spec.env,
  };
}

export function startReckon(spec: ReckonProcessSpec, stores: StoreHost, logDir: string): ReckonProcess {
  const logFile = path.join(logDir, `${spec.name}.log`);
  const out = openSync(logFile, "a");
  // `ip netns exec` execs the command in place, so the child's pid is the Node process itself.
  const child = spawn(
    "ip",
    inNamespace(spec.host.ns, [
      process.execPath,
      "--import",
      "tsx",
      path.join(REPO_ROOT, "bin/reckon.ts"),
      "start",
      "--roles",
      spec.roles.join(","),
    ]),
    { cwd: REPO_ROOT, env: processEnv(spec, stores), stdio: ["ignore", out, out] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { spec, url: `http://${spec.host.address}:${spec.port}`, child, logFile, exited };
}

/** Waits until the process answers /readyz with 200 (all its stores reachable); fails fast if it exits. */
export async function waitReady(p: ReckonProcess, timeoutMs = 90_000): Promise<number> {
  return waitFor(`${p.spec.name} (${p.url}) to be ready`, timeoutMs, async () => {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(`${p.spec.name} exited during start-up:\n${tail(p.logFile)}`);
    try {
      const res = await fetch(`${p.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      return res.status === 200;
    } catch {
      return false;
    }
  });
}

export async function stopReckon(
  p: ReckonProcess,
  signal: NodeJS.Signals,
  timeoutMs = 30_000,
): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), timeoutMs).unref());
  if ((await Promise.race([p.exited, timer])) === "timeout") {
    p.child.kill("SIGKILL");
    await p.exited;
  }
}
