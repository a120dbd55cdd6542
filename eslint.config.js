// Lint runs in `npm test` so style and correctness rules cannot drift.
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/*
 * Import boundaries: the folder READMEs' "may import" rules, enforced. import-x's no-restricted-paths resolves
 * each import to a file before matching, so `../analytics/` inside projectors/ (its own analytics projection) is
 * told apart from the analytics role, which a pattern over the import text cannot do.
 *
 * Shared modules other roles may import (everything else in a role folder is private to it):
 *   core/**                                     contracts, store ports and adapters, the event store, read-model
 *                                               layouts (core/event-store/, core/read-models/)
 *   ingest/experiments/index.ts                 experiment definitions (pure: zod schemas, decider, types)
 *   ingest/holdouts/index.ts                    holdout definitions (pure, like experiments)
 *   ingest/rules/index.ts                       merchandising rule definitions (pure), which serving applies
 *   serving/experiments/holdout-gate.ts         holdout precedence, shared by serving and the assignment endpoint
 *   serving/assignment/index.ts, exposure.ts    variant assignment (pure hashing), what analytics replays
 *   projectors/analytics/experiment-totals-sql.ts  the per-user totals SQL over the ClickHouse read model
 *   projectors/analytics/as-of.ts               experiment results as of a time: the tables rebuilt from the log
 *   projectors/<name>/read.ts                   read-model readers, for serving (over the projection-store port)
 *   projectors/<name>/as-of.ts                  temporal reads: a read model as it was at a time, from the log
 *   projectors/store/open.ts                    the projection store's factory (port: core/projection-store/port.ts)
 * Tests and test helpers may compose several roles (they set state up through one role and read it through
 * another); they still may not reach into bin/, and core/ stays free of roles everywhere.
 */
const ROLES = ["ingest", "projectors", "serving", "analytics"];
const TESTS = ["**/*.spec.ts", "**/testing.ts", "**/testing/**"];

const zone = (target, from, message, except) => ({ target, from, message, ...(except && { except }) });

/** core/ is below every role: it imports no role folder, no composition root, no bench. */
const coreZones = [
  zone(
    "./core",
    [...ROLES.map((r) => `./${r}`), "./bin", "./bench"],
    "core/ imports no role folder and not bin/.",
  ),
];

/** Roles register into bin/ (the composition root); they never import it. */
const roleZones = ROLES.map((role) =>
  zone(
    `./${role}`,
    "./bin",
    "Roles never import bin/: the contracts they implement are in core/runtime/role.ts.",
  ),
);

const others = (role) => ROLES.filter((r) => r !== role);
const crossRoleZones = [
  ...others("ingest").map((r) => zone("./ingest", `./${r}`, "ingest/ imports core/ only.")),
  zone(
    "./projectors",
    "./ingest",
    "projectors/ may import ingest/experiments/index.ts (definition types) only; the log is core/event-store/.",
    ["./experiments/index.ts"],
  ),
  zone(
    "./projectors",
    ["./serving", "./analytics"],
    "projectors/ imports nothing from serving/ or analytics/.",
  ),
  zone(
    "./serving",
    "./ingest",
    "serving/ may import ingest/experiments/index.ts and ingest/rules/index.ts (definitions) only from ingest/.",
    ["./experiments/index.ts", "./rules/index.ts"],
  ),
  zone(
    "./serving",
    "./projectors/**",
    "serving/ may import only the read-model readers projectors/*/read.ts, their temporal reads projectors/*/as-of.ts and the projection store's factory projectors/store/open.ts from projectors/.",
    ["**/projectors/*/read.ts", "**/projectors/*/as-of.ts", "**/projectors/store/open.ts"],
  ),
  zone("./serving", "./analytics", "serving/ imports nothing from analytics/."),
  zone(
    "./analytics",
    "./ingest",
    "analytics/ may import ingest/experiments/index.ts and ingest/holdouts/index.ts (definitions) only from ingest/.",
    ["./experiments/index.ts", "./holdouts/index.ts"],
  ),
  zone(
    "./analytics",
    "./serving",
    "analytics/ may import serving/assignment (index.ts, exposure.ts) and the holdout gate (experiments/holdout-gate.ts) only from serving/.",
    ["./assignment/index.ts", "./assignment/exposure.ts", "./experiments/holdout-gate.ts"],
  ),
  zone(
    "./analytics",
    "./projectors",
    "analytics/ may import the per-user totals SQL (projectors/analytics/experiment-totals-sql.ts) and the temporal read (projectors/analytics/as-of.ts) only.",
    ["./analytics/experiment-totals-sql.ts", "./analytics/as-of.ts"],
  ),
];

/** Sub-folders whose README narrows what they may import. */
const outside = (folder, message, coreExcept) => {
  const [role, sub] = folder.split("/");
  return [
    zone(`./${folder}`, "./core", message, coreExcept),
    zone(
      `./${folder}`,
      others(role).map((r) => `./${r}`),
      message,
    ),
    zone(`./${folder}`, `./${role}`, message, [`./${sub}`]),
  ];
};
const folderZones = [
  // The text rules every contract shares (well-formed Unicode, no U+0000) are pure zod, hence core/contracts/text.ts.
  ...outside(
    "ingest/experiments",
    "ingest/experiments is pure: zod, zod-to-openapi, node: built-ins and the shared text rules only.",
    ["./contracts/text.ts"],
  ),
  // The exposure event it records has the event contract's type, hence core/contracts.
  ...outside(
    "serving/assignment",
    "serving/assignment imports its own files and core/contracts only (experiments by shape).",
    ["./contracts"],
  ),
  ...outside(
    "analytics/stats",
    "analytics/stats is pure statistics over sufficient statistics: nothing outside it.",
  ),
  ...outside("analytics/dashboard", "analytics/dashboard may import express and node: built-ins only."),
  zone(
    "./analytics/queries",
    "./analytics",
    "analytics/queries may import core/, ingest/experiments, analytics/stats and the per-user totals SQL.",
    ["./queries", "./stats"],
  ),
];

export default tseslint.config(
  { ignores: ["node_modules/", ".reckon/", "dist/", "loadtests/*.js", "analytics/dashboard/public/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js"] })] },
    rules: {
      "import-x/no-restricted-paths": [
        "error",
        { zones: [...coreZones, ...roleZones, ...crossRoleZones, ...folderZones] },
      ],
    },
  },
  {
    // Tests compose roles; only the core/ and bin/ rules hold for them.
    files: TESTS,
    rules: { "import-x/no-restricted-paths": ["error", { zones: [...coreZones, ...roleZones] }] },
  },
);
