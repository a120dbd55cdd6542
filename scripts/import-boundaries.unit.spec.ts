import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ESLint } from "eslint";
import { REPO_ROOT } from "../core/runtime/local-env.ts";

/**
 * The import boundaries of eslint.config.js hold: a wrong-way import planted in a temporary file of the
 * repository fails lint with the zone's message, and the allowed shared modules pass.
 */
const eslint = new ESLint({ cwd: REPO_ROOT });

/** Writes `source` to a fresh file in `folder` (named with `suffix`), lints it, and deletes it. */
async function boundaryErrors(folder: string, source: string, suffix = ".ts"): Promise<string[]> {
  const file = path.join(REPO_ROOT, folder, `boundary-probe-${randomUUID()}${suffix}`);
  writeFileSync(file, source);
  try {
    const [result] = await eslint.lintFiles([file]);
    return result!.messages.filter((m) => m.ruleId === "import-x/no-restricted-paths").map((m) => m.message);
  } finally {
    rmSync(file, { force: true });
  }
}

const importing = (specifier: string) => `export type { ${"X"} } from "${specifier}";\n`;

describe("import boundaries (eslint import-x/no-restricted-paths)", () => {
  it("fails core/ importing a role folder", async () => {
    const errors = await boundaryErrors("core", importing("../serving/role.ts"));
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!,
      /"\.\.\/serving\/role\.ts" imported in restricted zone\. core\/ imports no role folder/,
    );
  });

  it("fails core/ importing bin/", async () => {
    const errors = await boundaryErrors("core/http", importing("../../bin/platform.ts"));
    assert.match(errors.join("\n"), /core\/ imports no role folder and not bin\//);
  });

  it("fails a role importing bin/, in code and in its tests", async () => {
    const inCode = await boundaryErrors("serving", importing("../bin/platform.ts"));
    assert.match(inCode.join("\n"), /Roles never import bin\//);
    const inSpec = await boundaryErrors("serving", importing("../bin/platform.ts"), ".unit.spec.ts");
    assert.match(inSpec.join("\n"), /Roles never import bin\//);
  });

  it("fails serving importing projectors beyond the read-model readers, and passes the readers", async () => {
    const wrong = await boundaryErrors("serving/ranking", importing("../../projectors/role.ts"));
    assert.match(
      wrong.join("\n"),
      /serving\/ may import only the read-model readers projectors\/\*\/read\.ts/,
    );
    assert.deepEqual(
      await boundaryErrors("serving/ranking", importing("../../projectors/features/read.ts")),
      [],
    );
    assert.deepEqual(
      await boundaryErrors("serving/ranking", importing("../../projectors/features/as-of.ts")),
      [],
    );
  });

  it("fails analytics importing ingest internals, and passes the experiment definitions", async () => {
    const wrong = await boundaryErrors(
      "analytics/experiments",
      importing("../../ingest/http/events-router.ts"),
    );
    assert.match(
      wrong.join("\n"),
      /analytics\/ may import ingest\/experiments\/index\.ts and ingest\/holdouts\/index\.ts \(definitions\) only/,
    );
    assert.deepEqual(
      await boundaryErrors("analytics/experiments", importing("../../ingest/experiments/index.ts")),
      [],
    );
  });

  it("passes serving importing the merchandising rule definitions, and fails their repository", async () => {
    assert.deepEqual(await boundaryErrors("serving/ranking", importing("../../ingest/rules/index.ts")), []);
    assert.match(
      (await boundaryErrors("serving/ranking", importing("../../ingest/rules/repository.ts"))).join("\n"),
      /serving\/ may import ingest\/experiments\/index\.ts and ingest\/rules\/index\.ts \(definitions\) only/,
    );
  });

  it("fails ingest importing another role, and a pure folder importing a store", async () => {
    assert.match(
      (await boundaryErrors("ingest/http", importing("../../serving/assignment/index.ts"))).join("\n"),
      /ingest\/ imports core\/ only/,
    );
    assert.match(
      (await boundaryErrors("analytics/stats", importing("../../core/postgres/database.ts"))).join("\n"),
      /analytics\/stats is pure statistics/,
    );
  });

  it("tells a role's own sub-folder from the role of the same name (projectors/analytics is not analytics/)", async () => {
    assert.deepEqual(await boundaryErrors("projectors/runtime", importing("../analytics/projection.ts")), []);
    assert.match(
      (
        await boundaryErrors("projectors/runtime", importing("../../analytics/queries/experiment-sql.ts"))
      ).join("\n"),
      /projectors\/ imports nothing from serving\/ or analytics\//,
    );
  });

  it("lets tests compose roles (set up through one, read through another)", async () => {
    const errors = await boundaryErrors(
      "serving/http",
      importing("../../projectors/features/projection.ts"),
      ".int.spec.ts",
    );
    assert.deepEqual(errors, []);
  });
});
