import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
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
 * and a fresh HOME, as a user on a machine without the stack. The spec sets the namespace up as root, then runs
 * the platform as `nobody` (no supplementary groups, no capabilities): it owns only its HOME, its temp directory
 * and its data directory, and the checkout is read-only to it, so a start path that needed root or wrote
 * anywhere else would fail here; afterwards nothing of that user's is new in the machine's temp directories.
 * core/testing/embedded-proof.ts drives it there and reports facts: catalog, events, a read with min_position,
 * recommendations, an experiment's results, a ClickHouse-endpoint query; then SIGKILL, a second start on the same
 * data directory, and every acknowledged event found again.
 */
const ns = `rkem-${process.pid.toString(36)}`;
const work = mkdtempSync(path.join(tmpdir(), "reckon-embedded-netns-"));
/** `nobody`: a user who is not root and owns nothing on the machine but what this spec gives it. */
const USER = { uid: 65534, gid: 65534 };
/** Where a process writes when it ignores TMPDIR or HOME: nothing of the user's may appear there. */
const SHARED_WRITABLE = ["/tmp", "/var/tmp", "/dev/shm"];

/** Paths under the shared writable directories that the user owns and that changed since `since` was made. */
function writtenByUser(since: string): string[] {
  const found = execFileSync(
    "find",
    [
      ...SHARED_WRITABLE,
      "-xdev",
      "-path",
      work,
      "-prune",
      "-o",
      "-uid",
      String(USER.uid),
      "-newer",
      since,
      "-print",
    ],
    { encoding: "utf8" },
  );
  return found.split("\n").filter(Boolean).sort();
}

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

  // The user's own directories; the work directory itself stays root's (readable, not writable).
  chmodSync(work, 0o755);
  const home = path.join(work, "home");
  const temp = path.join(home, "tmp");
  const dataDir = path.join(work, "data");
  for (const dir of [home, temp, dataDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chownSync(dir, USER.uid, USER.gid);
  }
  const startMark = path.join(work, "started");
  writeFileSync(startMark, "");
  const nodeDir = path.dirname(process.execPath);
  const { stdout } = await promisify(execFile)(
    "ip",
    inNamespace(ns, [
      "setpriv",
      `--reuid=${USER.uid}`,
      `--regid=${USER.gid}`,
      "--clear-groups",
      "--inh-caps=-all",
      "--bounding-set=-all",
      "--no-new-privs",
      "env",
      "-i",
      `HOME=${home}`,
      `TMPDIR=${temp}`,
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
  // The embedded stores, each in its directory under the data directory, written by the user (not root).
  assert.deepEqual(readdirSync(dataDir).sort(), ["clickhouse", "postgres", "projections"]);
  const notTheUsers = readdirSync(dataDir, { recursive: true, encoding: "utf8" })
    .map((p) => path.join(dataDir, p))
    .filter((p) => statSync(p).uid !== USER.uid);
  assert.deepEqual(notTheUsers, []);
  // Nothing written outside the user's HOME, temp and data directories (the checkout is read-only to it).
  assert.deepEqual(writtenByUser(startMark), []);

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
