import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ensureIproute2, inNamespace, ip, removeLeftovers, removeNetwork } from "./network.ts";

/** What a crashed multi-host run leaves behind (namespaces, a bridge, processes in them) is removed by the next. */
describe("multi-host leftovers", () => {
  test("a dead run's namespaces, bridge and processes are removed; a live run's are kept", async () => {
    if (process.getuid?.() !== 0) throw new Error("network namespaces need root: run it as root");
    ensureIproute2();
    // One past pid_max: no process can have it, so its run is certainly dead.
    const deadId = (Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1).toString(36);
    const liveId = process.pid.toString(36);
    const deadNs = `rkmh-${deadId}-x`;
    const liveNs = `rkmh-${liveId}-leftover-check`;
    try {
      ip(["netns", "add", deadNs]);
      ip(["link", "add", `rkmh${deadId}br`, "type", "bridge"]);
      ip(["netns", "add", liveNs]);
      const sleeper = spawn("ip", inNamespace(deadNs, ["sleep", "120"]), { stdio: "ignore" });
      const exited = new Promise((resolve) => sleeper.once("exit", (_code, signal) => resolve(signal)));
      await new Promise((resolve) => setTimeout(resolve, 300));

      // Real leftovers of an earlier crashed run may be removed along with the planted one.
      const removed = removeLeftovers();
      assert.ok(removed.includes(deadId), `the dead run was removed (removed: ${removed})`);
      assert.ok(!removed.includes(liveId), "the live run was kept");
      assert.equal(await exited, "SIGKILL", "the process left in the dead namespace was killed");
      const namespaces = ip(["netns", "list"]);
      assert.equal(namespaces.includes(deadNs), false);
      assert.equal(namespaces.includes(liveNs), true);
      assert.equal(ip(["-o", "link", "show"]).includes(`rkmh${deadId}br`), false);
    } finally {
      removeNetwork(deadId);
      removeNetwork(liveId);
    }
  });
});
