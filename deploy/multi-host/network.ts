import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * Hosts for the multi-host run: one network namespace per host, each joined by a veth pair to a bridge that
 * only these namespaces (and the test runner, which plays the client) sit on. The subnet is private and used
 * nowhere else; namespaces get no default route, so their traffic stays on this bridge.
 *
 * Names carry the owning test process's pid (base 36): a later run recognises an earlier run's leftovers (its
 * pid is gone) and removes them, without touching a run that is still going.
 */

const NAME_PREFIX = "rkmh";

export interface Host {
  /** Short label (a, b, c, s). */
  label: string;
  /** The namespace's name (`ip netns exec <ns> ...`). */
  ns: string;
  /** The host's address on the bridge. */
  address: string;
}

export interface Network {
  runId: string;
  bridge: string;
  /** The test runner's own address on the bridge. */
  clientAddress: string;
  hosts: Record<string, Host>;
}

/** Installs Debian's iproute2 (the `ip` tool) when the machine lacks it; the run is root already. */
export function ensureIproute2(): void {
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    return;
  } catch {
    const apt = {
      stdio: "ignore" as const,
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    };
    execFileSync("apt-get", ["update", "-qq"], apt);
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "iproute2"], apt);
  }
}

export function ip(args: readonly string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** `ip netns exec <ns> <command...>` as an argument list for spawn/execFile on `ip`. */
export function inNamespace(ns: string, command: readonly string[]): string[] {
  return ["netns", "exec", ns, ...command];
}

/**
 * Builds the bridge and one namespace per label. `octet` picks the /24 (10.213.<octet>.0/24); a label's host
 * number is its position in `labels` plus 10. Run as root.
 */
export function createNetwork(labels: readonly string[], ownerPid = process.pid): Network {
  const runId = ownerPid.toString(36);
  const octet = (ownerPid % 200) + 20;
  const subnet = `10.213.${octet}`;
  const bridge = `${NAME_PREFIX}${runId}br`;
  const network: Network = { runId, bridge, clientAddress: `${subnet}.1`, hosts: {} };
  ip(["link", "add", bridge, "type", "bridge"]);
  ip(["addr", "add", `${network.clientAddress}/24`, "dev", bridge]);
  ip(["link", "set", bridge, "up"]);
  labels.forEach((label, i) => {
    const ns = `${NAME_PREFIX}-${runId}-${label}`;
    const address = `${subnet}.${10 + i}`;
    const outside = `${NAME_PREFIX}${runId}${label}`;
    ip(["netns", "add", ns]);
    ip(["link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    ip(["link", "set", outside, "master", bridge, "up"]);
    ip(inNamespace(ns, ["ip", "addr", "add", `${address}/24`, "dev", "eth0"]));
    ip(inNamespace(ns, ["ip", "link", "set", "eth0", "up"]));
    ip(inNamespace(ns, ["ip", "link", "set", "lo", "up"]));
    network.hosts[label] = { label, ns, address };
  });
  return network;
}

/** Where a run keeps its stores' data and its processes' logs. */
export function runDirectory(runId: string): string {
  return path.join(os.tmpdir(), `${NAME_PREFIX}-${runId}`);
}

/** Kills every process left in the run's namespaces, then deletes the namespaces, veths and the bridge. */
export function removeNetwork(runId: string): void {
  for (const ns of namespaces().filter((n) => n.startsWith(`${NAME_PREFIX}-${runId}-`))) {
    killNamespaceProcesses(ns);
    tryIp(["netns", "del", ns]);
  }
  for (const link of links().filter((l) => l.startsWith(`${NAME_PREFIX}${runId}`)))
    tryIp(["link", "del", link]);
}

/** Removes what runs whose test process is gone left behind (a crash, a SIGKILLed runner). */
export function removeLeftovers(): string[] {
  const ids = new Set<string>();
  for (const ns of namespaces()) {
    const m = new RegExp(`^${NAME_PREFIX}-([0-9a-z]+)-`).exec(ns);
    if (m) ids.add(m[1]!);
  }
  for (const link of links()) {
    const m = new RegExp(`^${NAME_PREFIX}([0-9a-z]+)br$`).exec(link);
    if (m) ids.add(m[1]!);
  }
  const stale = [...ids].filter((id) => !processAlive(parseInt(id, 36)));
  for (const id of stale) {
    removeNetwork(id);
    rmSync(runDirectory(id), { recursive: true, force: true });
  }
  return stale;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const cmdline = `/proc/${pid}/cmdline`;
  return existsSync(cmdline) && readFileSync(cmdline, "utf8").includes("node");
}

function namespaces(): string[] {
  return tryIp(["netns", "list"])
    .split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((name) => name.startsWith(NAME_PREFIX));
}

function links(): string[] {
  return tryIp(["-o", "link", "show"])
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name.startsWith(NAME_PREFIX));
}

function killNamespaceProcesses(ns: string): void {
  for (let attempt = 0; attempt < 50; attempt++) {
    const pids = tryIp(["netns", "pids", ns])
      .split("\n")
      .map(Number)
      .filter((pid) => pid > 0);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    execFileSync("sleep", ["0.1"]);
  }
}

function tryIp(args: readonly string[]): string {
  try {
    return ip(args);
  } catch {
    return "";
  }
}
