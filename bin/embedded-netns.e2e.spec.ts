import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { ensureIproute2, inNamespace, ip } from "../deploy/multi-host/network.ts";
import { SCENARIO_USERS } from "../core/testing/platform-scenario.ts";

/**
 * `npm start` needs nothing but Node: the embedded platform runs in a network namespace that has only loopback
 * (none of the machine's Postgres, Redis, Kafka or ClickHouse is reachable from it), with an empty environment
 * and a fresh HOME, as a user on a machine without the stack. core/testing/embedded-proof.ts drives it there and
 * reports facts: catalog, events, a read with min_position, recommendations, an experiment's results, a
 * ClickHouse-endpoint query; then SIGKILL, a second start on the same data directory, and every acknowledged
 * event found again.
 */
const ns = `rkem-${process.pid.toString(36)}`;
const work = mkdtempSync(path.join(tmpdir(), "reckon-embedded-netns-"));

before(() => {
  ensureIproute2();
  ip(["netns", "add", ns]);
  ip(inNamespace(ns, ["ip", "link", "set", "lo", "up"]));
});
after(() => {
  try {
    // Whatever a failed run left running in the namespace goes with it.
    for (const pid of ip(["netns", "pids", ns])
      .split("\n")
      .map(Number)
      .filter((p) => p > 0))
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    ip(["netns", "del", ns]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("the embedded platform runs with only loopback and Node, and keeps every acknowledged event across SIGKILL", async () => {
  // Only loopback, and nothing listening on the stack's ports there.
  const links = execFileSync("ip", inNamespace(ns, ["ip", "-o", "link", "show"]), { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]);
  assert.deepEqual(links, ["lo"]);

  const home = path.join(work, "home");
  const dataDir = path.join(work, "data");
  execFileSync("mkdir", ["-p", home]);
  const nodeDir = path.dirname(process.execPath);
  const { stdout } = await promisify(execFile)(
    "ip",
    inNamespace(ns, [
      "env",
      "-i",
      `HOME=${home}`,
      `PATH=${nodeDir}:/usr/bin:/bin`,
      process.execPath,
      "--import",
      "tsx",
      path.join(REPO_ROOT, "core/testing/embedded-proof.ts"),
      dataDir,
    ]),
    { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 },
  );
  const facts = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
    printedStores: string[];
    killedBy: string;
    acknowledged: number;
    foundAfterRestart: number;
    before: {
      positionReached: string;
      recommendations: Record<string, { item: string; score: number }[]>;
      experiment: { users: Record<string, number>; control: { mean: number }; treatment: { mean: number } };
      clickhouseEventsByType: Record<string, number>;
    };
    after: FactsAnswers;
  };
  type FactsAnswers = (typeof facts)["before"];

  assert.ok(facts.printedStores.some((l) => /Postgres +embedded PGlite/.test(l)));
  assert.ok(facts.printedStores.some((l) => /Log transport +Postgres tail/.test(l)));
  // The embedded stores, each in its directory under the data directory.
  assert.deepEqual(readdirSync(dataDir).sort(), ["clickhouse", "postgres", "projections"]);

  // The scenario's answers before the kill: 60 users, 30 per variant, 15 and 20 converting.
  assert.equal(facts.before.positionReached, "true");
  assert.deepEqual(facts.before.experiment.users, {
    control: SCENARIO_USERS / 2,
    treatment: SCENARIO_USERS / 2,
  });
  assert.equal(facts.before.experiment.control.mean, 15 / 30);
  assert.equal(facts.before.experiment.treatment.mean, 20 / 30);
  assert.deepEqual(facts.before.clickhouseEventsByType, { exposure: 60, purchase: 35, view: 360 });
  for (const [user, items] of Object.entries(facts.before.recommendations))
    assert.equal(items.length, 5, `recommendations of ${user}`);

  // SIGKILL right after a batch was acknowledged; the second start finds every acknowledged event.
  assert.equal(facts.killedBy, "SIGKILL");
  assert.equal(facts.acknowledged, 455 + 200);
  assert.equal(facts.foundAfterRestart, facts.acknowledged);
  assert.equal(facts.after.positionReached, "true");
  assert.deepEqual(facts.after.experiment, facts.before.experiment);
  assert.deepEqual(facts.after.clickhouseEventsByType, facts.before.clickhouseEventsByType);
  for (const items of Object.values(facts.after.recommendations)) assert.equal(items.length, 5);
});
