import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../core/runtime/local-env.ts";

/** `reckon config` as an operator runs it: a separate process, its environment, nothing started. */
async function reckonConfig(env: Record<string, string>, ...args: string[]) {
  const run = promisify(execFile);
  try {
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", path.join(REPO_ROOT, "bin/reckon.ts"), "config", ...args],
      {
        // Only what node needs and what the test sets: nothing of this shell's configuration leaks in.
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
        cwd: REPO_ROOT,
      },
    );
    return { stdout, code: 0 };
  } catch (err) {
    const failed = err as { stdout: string; code: number };
    return { stdout: failed.stdout, code: failed.code };
  }
}

const configured = {
  DATABASE_URL: "postgres://reckon:pa55word@127.0.0.1:5432/reckon",
  KAFKA_BROKERS: "127.0.0.1:9092",
  RECKON_WRITE_KEYS: "write-key-0123456789",
  RECKON_USER_TTL_DAYS: "7",
};

test("reckon config --json prints every variable in force with its source, secrets redacted", async () => {
  const { stdout, code } = await reckonConfig(configured, "--json");
  assert.equal(code, 0);
  const printed = JSON.parse(stdout) as {
    variables: { name: string; value: string | null; source: string }[];
    problems: string[];
  };
  const byName = new Map(printed.variables.map((v) => [v.name, v]));
  assert.deepEqual(byName.get("DATABASE_URL"), {
    name: "DATABASE_URL",
    value: "postgres://reckon:***@127.0.0.1:5432/reckon",
    source: "env",
  });
  assert.deepEqual(byName.get("RECKON_WRITE_KEYS"), {
    name: "RECKON_WRITE_KEYS",
    value: "<redacted>",
    source: "env",
  });
  assert.deepEqual(byName.get("RECKON_USER_TTL_DAYS"), {
    name: "RECKON_USER_TTL_DAYS",
    value: "7",
    source: "env",
  });
  assert.deepEqual(byName.get("RECKON_PROJECTOR_GROUP_PREFIX"), {
    name: "RECKON_PROJECTOR_GROUP_PREFIX",
    value: "reckon.projector.",
    source: "default",
  });
  assert.deepEqual(printed.problems, []);
  assert.ok(!stdout.includes("pa55word") && !stdout.includes("write-key-0123456789"), "no secret is printed");
});

test("reckon config lists every problem and exits 1 when start-up would refuse the configuration", async () => {
  const { stdout, code } = await reckonConfig({ ...configured, PORT: "http", RECKON_MODEL_POLL_MS: "soon" });
  assert.equal(code, 1);
  assert.match(stdout, /^NAME +VALUE +SOURCE\n/);
  assert.ok(
    stdout.endsWith(
      'invalid configuration:\n  - PORT: Invalid input: expected number, received NaN (received "http")\n  - RECKON_MODEL_POLL_MS: must be a whole number ≥ 1 (received "soon")\n',
    ),
    stdout,
  );
});
