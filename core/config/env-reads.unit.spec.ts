import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../runtime/local-env.ts";
import { VARIABLES } from "./variables.ts";

/**
 * Every variable the product reads is in the one table (variables.ts), and only core/config/ reads the
 * environment: this walks every TypeScript file of the repository for environment reads.
 *
 * Out of scope, by rule: benchmarks and load tests (`bench/`, `loadtests/`) and tests (`*.spec.ts`, the test
 * helpers in `core/testing/` and files named `testing.ts`). They drive the product from outside and may read
 * variables of their own; nothing the product runs imports them.
 */
/** Not product code: benchmarks, load tests, specs and test support (including the multi-host run's hosts). */
const OUT_OF_SCOPE = [
  /^bench\//,
  /^loadtests\//,
  /\.spec\.ts$/,
  /^core\/testing\//,
  /(^|\/)testing\.ts$/,
  /^deploy\/multi-host\//,
];
const CONFIG_DIR = "core/config/";

interface EnvRead {
  line: number;
  /** The variable, when the code names it. */
  name?: string;
  how: "property" | "dynamic" | "whole" | "destructured" | "cli-option" | "process-env-type";
}

/** The environment reads in one file's source. */
function envReads(source: string, file = "x.ts"): EnvRead[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true);
  const reads: EnvRead[] = [];
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  // `env` imported from node:process is process.env under another name.
  const envAliases = new Set<string>();
  const isProcessEnv = (n: ts.Node): boolean =>
    (ts.isIdentifier(n) && envAliases.has(n.text)) ||
    (ts.isPropertyAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === "process" &&
      n.name.text === "env") ||
    (ts.isElementAccessExpression(n) &&
      ts.isIdentifier(n.expression) &&
      n.expression.text === "process" &&
      ts.isStringLiteralLike(n.argumentExpression) &&
      n.argumentExpression.text === "env");
  const visit = (n: ts.Node) => {
    if (
      ts.isImportDeclaration(n) &&
      ts.isStringLiteral(n.moduleSpecifier) &&
      ["process", "node:process"].includes(n.moduleSpecifier.text)
    ) {
      const bindings = n.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings))
        for (const el of bindings.elements)
          if ((el.propertyName ?? el.name).text === "env") envAliases.add(el.name.text);
      return;
    }
    if (isProcessEnv(n)) {
      const parent = n.parent;
      if (ts.isPropertyAccessExpression(parent) && parent.expression === n)
        reads.push({ line: line(n), name: parent.name.text, how: "property" });
      else if (ts.isElementAccessExpression(parent) && parent.expression === n)
        reads.push(
          ts.isStringLiteralLike(parent.argumentExpression)
            ? { line: line(n), name: parent.argumentExpression.text, how: "property" }
            : { line: line(n), how: "dynamic" },
        );
      else if (
        ts.isVariableDeclaration(parent) &&
        parent.initializer === n &&
        ts.isObjectBindingPattern(parent.name)
      )
        for (const el of parent.name.elements) {
          const key = el.propertyName ?? el.name;
          reads.push(
            ts.isIdentifier(key) || ts.isStringLiteralLike(key)
              ? { line: line(n), name: key.text, how: "destructured" }
              : { line: line(n), how: "dynamic" },
          );
        }
      else reads.push({ line: line(n), how: "whole" });
      return;
    }
    // commander's `.env("NAME")` binds an option to a variable behind the schema's back.
    if (
      ts.isCallExpression(n) &&
      ts.isPropertyAccessExpression(n.expression) &&
      n.expression.name.text === "env" &&
      n.arguments.length === 1 &&
      ts.isStringLiteralLike(n.arguments[0]!)
    )
      reads.push({ line: line(n), name: n.arguments[0].text, how: "cli-option" });
    // A raw environment handed around (`env: NodeJS.ProcessEnv`) is read wherever it lands.
    if (ts.isQualifiedName(n) && n.getText(sf) === "NodeJS.ProcessEnv")
      reads.push({ line: line(n), how: "process-env-type" });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return reads;
}

/** What is wrong with a file's reads: outside core/config/ any read; inside, a variable missing from the table. */
function violations(file: string, reads: readonly EnvRead[]): string[] {
  if (OUT_OF_SCOPE.some((r) => r.test(file))) return [];
  const where = (r: EnvRead) => `${file}:${r.line}${r.name ? ` ${r.name}` : ""} (${r.how})`;
  if (!file.startsWith(CONFIG_DIR))
    return reads.map(
      (r) => `${where(r)}: reads the environment outside ${CONFIG_DIR}; take it from the typed Env`,
    );
  return reads.flatMap((r) => {
    if (r.how === "dynamic") return [`${where(r)}: names no variable; read through the table instead`];
    if (r.name !== undefined && !(r.name in VARIABLES))
      return [`${where(r)}: ${r.name} is not in core/config/variables.ts`];
    return [];
  });
}

function repositoryTypeScriptFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "--", "*.ts"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter((f) => f.length > 0 && existsSync(path.join(REPO_ROOT, f)))
    .sort();
}

describe("environment reads", () => {
  it("finds every way code reads the environment, with the variable when it is named", () => {
    const source = [
      'import { env as processEnv } from "node:process";',
      "const a = process.env.ALPHA;",
      'const b = process.env["BRAVO"];',
      "const c = process.env[name];",
      "const { CHARLIE, DELTA: d } = process.env;",
      "spawn(cmd, { env: { ...process.env } });",
      "const e = processEnv.ECHO;",
      'new Option("--workers <n>").env("FOXTROT");',
      "function f(env: NodeJS.ProcessEnv) {}",
      'const g = process["env"].GOLF;',
    ].join("\n");
    assert.deepEqual(envReads(source), [
      { line: 2, name: "ALPHA", how: "property" },
      { line: 3, name: "BRAVO", how: "property" },
      { line: 4, how: "dynamic" },
      { line: 5, name: "CHARLIE", how: "destructured" },
      { line: 5, name: "DELTA", how: "destructured" },
      { line: 6, how: "whole" },
      { line: 7, name: "ECHO", how: "property" },
      { line: 8, name: "FOXTROT", how: "cli-option" },
      { line: 9, how: "process-env-type" },
      { line: 10, name: "GOLF", how: "property" },
    ]);
  });

  it("refuses any read outside core/config/, and inside it a variable missing from the table", () => {
    const reads = envReads("const p = process.env.PORT;\nconst x = process.env.RECKON_NOT_A_VARIABLE;");
    assert.deepEqual(violations("serving/role.ts", reads), [
      "serving/role.ts:1 PORT (property): reads the environment outside core/config/; take it from the typed Env",
      "serving/role.ts:2 RECKON_NOT_A_VARIABLE (property): reads the environment outside core/config/; take it from the typed Env",
    ]);
    assert.deepEqual(violations("core/config/resolve.ts", reads), [
      "core/config/resolve.ts:2 RECKON_NOT_A_VARIABLE (property): RECKON_NOT_A_VARIABLE is not in core/config/variables.ts",
    ]);
    assert.deepEqual(violations("core/config/x.ts", envReads("const v = process.env[name];")), [
      "core/config/x.ts:1 (dynamic): names no variable; read through the table instead",
    ]);
  });

  it("leaves benchmarks and tests to their own variables", () => {
    const reads = envReads("const n = process.env.SERVING_BENCH_WORKERS;");
    for (const file of [
      "bench/serving.ts",
      "loadtests/x.ts",
      "serving/role.int.spec.ts",
      "core/testing/stack.ts",
      "projectors/runtime/testing.ts",
    ])
      assert.deepEqual(violations(file, reads), [], file);
    assert.equal(violations("serving/testing-helpers.ts", reads).length, 1, "only files named testing.ts");
  });

  it("no product file reads the environment except through the table in core/config/", () => {
    const files = repositoryTypeScriptFiles();
    assert.ok(files.includes("core/config/variables.ts"), "the walk sees the repository");
    const found = files.flatMap((file) =>
      violations(file, envReads(readFileSync(path.join(REPO_ROOT, file), "utf8"), file)),
    );
    assert.deepEqual(found, []);
  });

  it("every variable in the table is used by some product file (no entry outlives its code)", () => {
    const product = repositoryTypeScriptFiles()
      .filter((f) => !OUT_OF_SCOPE.some((r) => r.test(f)) && f !== "core/config/variables.ts")
      .map((f) => readFileSync(path.join(REPO_ROOT, f), "utf8"))
      .join("\n");
    const unused = Object.keys(VARIABLES).filter((name) => !new RegExp(`\\b${name}\\b`).test(product));
    assert.deepEqual(unused, []);
  });
});
