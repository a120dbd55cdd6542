import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../runtime/local-env.ts";
import { configurationReference, REFERENCE_PATH } from "./reference.ts";
import { VARIABLE_NAMES } from "./env.ts";

test(`${REFERENCE_PATH} is the one generated from the table (run \`npm run docs:config\` after changing it)`, () => {
  const committed = readFileSync(path.join(REPO_ROOT, REFERENCE_PATH), "utf8");
  assert.equal(
    committed,
    configurationReference(),
    `${REFERENCE_PATH} is stale: run \`npm run docs:config\``,
  );
});

test("the reference has one row per variable, naming its type, default, secrecy and readers", () => {
  const rows = configurationReference()
    .split("\n")
    .filter((l) => l.startsWith("| `"));
  assert.deepEqual(
    rows.map((r) => /^\| `([A-Z_]+)`/.exec(r)?.[1]),
    VARIABLE_NAMES,
  );
  const row = (name: string) =>
    rows
      .find((r) => r.startsWith(`| \`${name}\` |`))!
      .split(" | ")
      .slice(1, 5);
  assert.deepEqual(row("DATABASE_URL"), [
    "URL",
    "required",
    "password part",
    "ingest, relay, projectors, serving, analytics, reckon migrate, reckon import, reckon replay, reckon train, reckon model",
  ]);
  assert.deepEqual(row("RECKON_READ_KEYS"), [
    "comma-separated keys",
    "empty",
    "yes",
    "ingest, projectors, serving, analytics",
  ]);
  assert.deepEqual(row("RECKON_USER_TTL_DAYS"), [
    "number > 0",
    "`30`",
    "no",
    "projectors, serving, reckon replay, reckon train",
  ]);
  assert.deepEqual(row("LOG_LEVEL"), [
    "fatal \\| error \\| warn \\| info \\| debug \\| trace \\| silent",
    "unset",
    "no",
    "logger",
  ]);
});
