#!/usr/bin/env -S npx tsx
import { Command, Option } from "commander";
import path from "node:path";
import { compositionOfEnv, openResources, startPlatform, stopOnSignals } from "./platform.ts";
import {
  DEFAULT_DATA_DIR,
  layeredEnv,
  resolveEnv,
  resolveRaw,
  workersSetting,
} from "../core/config/resolve.ts";
import { compositionOf, compositionProblems, describeComposition } from "../core/config/composition.ts";
import { dataDirOf, describeLocalKeys } from "../core/config/sources.ts";
import { KEYS_ENV } from "../core/runtime/local-env.ts";
import { configCommand } from "../core/config/command.ts";
import type { RoleName } from "../core/runtime/role.ts";
import { ALL_ROLES } from "./roles.ts";
import { isPrimary, runWorkers, workersProblem } from "./workers.ts";
import { migrate } from "../core/postgres/migrate.ts";
import { openDatabase } from "../core/postgres/database.ts";
import { importFile } from "../ingest/import/import-file.ts";
import { parseMapping } from "../ingest/import/rows-to-events.ts";
import { ConfigError, loadEnv } from "../core/config/env.ts";
import { logger } from "../core/logger.ts";

/** `reckon`: one CLI, a subcommand per role (commander: the standard, typed CLI parser for Node). */
const program = new Command("reckon")
  .description("Reckon: real-time recommendations and experiment analytics")
  .showHelpAfterError();

async function runRoles(roles: readonly RoleName[]): Promise<void> {
  const layered = resolveRaw();
  const env = loadEnv(layered.values);
  const problems = compositionProblems(compositionOfEnv(env), {
    roles,
    workers: 1,
    projections: env.RECKON_PROJECTIONS,
  });
  if (problems.length > 0) throw new ConfigError(problems);
  const resources = await openResources(env);
  const platform = await startPlatform(resources, roles);
  if (env.RECKON_WORKER_INDEX === 0) printComposition(env, roles, describeLocalKeys(layered, KEYS_ENV));
  stopOnSignals(async () => {
    await platform.stop();
    await resources.close();
  });
}

/** The block that says what each store runs on and how to switch it to a server, on stderr at start. */
function printComposition(
  env: ReturnType<typeof resolveEnv>,
  roles: readonly RoleName[],
  localKeys: string | undefined,
): void {
  const composition = compositionOfEnv(env);
  const endpoint =
    composition.clickhouse.embedded && roles.includes("analytics") && env.CLICKHOUSE_HTTP_PASSWORD
      ? env.CLICKHOUSE_HTTP_PORT === 0
        ? `on ${env.CLICKHOUSE_HTTP_HOST}, a free port (in the log) (user ${env.CLICKHOUSE_HTTP_USER})`
        : `http://${env.CLICKHOUSE_HTTP_HOST}:${env.CLICKHOUSE_HTTP_PORT} (user ${env.CLICKHOUSE_HTTP_USER})`
      : undefined;
  // stderr: stdout carries the JSON log lines (pino), which collectors and the benchmarks parse.
  process.stderr.write(`${describeComposition(composition, endpoint)}\n${localKeys ? `${localKeys}\n` : ""}`);
}

program
  .command("start")
  .description("run every role in one process (HTTP API on PORT)")
  .addOption(new Option("--roles <roles>", "comma-separated subset of roles").default(ALL_ROLES.join(",")))
  .option(
    "--workers <n>",
    "processes sharing the HTTP port (serving and ingest only; default RECKON_WORKERS or 1)",
  )
  .action(async (opts: { roles: string; workers?: string }) => {
    const roles = opts.roles.split(",").map((r) => r.trim()) as RoleName[];
    const unknown = roles.filter((r) => !ALL_ROLES.includes(r));
    if (unknown.length > 0)
      throw new Error(`--roles: unknown role(s) ${unknown.join(", ")}; known: ${ALL_ROLES}`);
    // Decided before any worker exists, so before the full configuration is resolved (each worker does that).
    const workers = opts.workers === undefined ? workersSetting() : Number(opts.workers);
    const problem = workersProblem(roles, workers);
    if (problem) throw new Error(problem);
    // Refused before any worker exists: a combination an embedded store cannot serve (one message per reason).
    const raw = layeredEnv().values;
    const problems = compositionProblems(compositionOf(dataDirOf(raw, DEFAULT_DATA_DIR), raw), {
      roles,
      workers,
      projections: raw.RECKON_PROJECTIONS?.split(",")
        .map((p) => p.trim())
        .filter((p) => p !== ""),
    });
    if (problems.length > 0) throw new ConfigError(problems);
    if (workers > 1 && isPrimary()) runWorkers(workers);
    else await runRoles(roles);
  });

program
  .command("ingest")
  .description("run the ingest HTTP API only")
  .action(() => runRoles(["ingest"]));

program
  .command("relay")
  .description("run the Postgres → Kafka relay only")
  .action(() => runRoles(["relay"]));

program
  .command("migrate")
  .description("apply database migrations")
  .action(async () => {
    const env = resolveEnv();
    const db = openDatabase(env.DATABASE_URL);
    try {
      const applied = await migrate(db);
      console.log(JSON.stringify({ applied }));
    } finally {
      await db.close();
    }
  });

program
  .command("import")
  .description("load events from a CSV or NDJSON file through the same validation as the API")
  .argument("<file>", "CSV (header row) or NDJSON file")
  .addOption(
    new Option("--format <format>", "file format (default: by extension)").choices(["csv", "ndjson"]),
  )
  .option("--map <pairs>", "rename columns, e.g. userId=user_id,movieId=item_id,rating=value")
  .option("--set <pairs>", "set a field on every event, e.g. type=rating")
  .option("--no-backfill", "apply the live time window (reject old timestamps) instead of accepting history")
  .option("--batch-size <n>", "events per transaction", "500")
  .action(
    async (
      file: string,
      opts: { format?: "csv" | "ndjson"; map?: string; set?: string; backfill: boolean; batchSize: string },
    ) => {
      const env = resolveEnv();
      const db = openDatabase(env.DATABASE_URL);
      try {
        await migrate(db);
        const format = opts.format ?? (/\.(nd)?jsonl?$/.test(file) ? "ndjson" : "csv");
        const summary = await importFile({
          db,
          file: path.resolve(file),
          format,
          mapping: parseMapping(opts.map, opts.set),
          window: {
            now: new Date(),
            maxAgeMs: opts.backfill ? undefined : env.RECKON_MAX_EVENT_AGE_HOURS * 3_600_000,
            maxSkewMs: env.RECKON_MAX_CLOCK_SKEW_SECONDS * 1000,
          },
          batchSize: Number(opts.batchSize),
          progress: process.stderr.isTTY,
        });
        console.log(JSON.stringify(summary, null, 2));
        if (summary.rejected > 0) process.exitCode = 3;
      } finally {
        await db.close();
      }
    },
  );

// projectors: run the projectors role alone, and rebuild a Redis read model from the log.
program
  .command("projectors")
  .description("run the projectors (Kafka → read models) and /v1/status only")
  .action(() => runRoles(["projectors"]));

program
  .command("replay")
  .description("rebuild a read model from the Postgres log into a new version, then switch readers to it")
  .requiredOption(
    "--projection <name>",
    "projection to rebuild (features, recommendations, analytics, search, item-detail)",
  )
  .option("--from <position>", 'start after this position token "<transaction>.<position>"')
  .option(
    "--to <position>",
    "build the read model as it was at this position token, beside the live one (features, recommendations: a checkpoint reckon switch can pin readers to)",
  )
  .action(async (opts: { projection: string; from?: string; to?: string }) => {
    const { runReplayCommand } = await import("../projectors/runtime/replay-command.ts");
    console.log(JSON.stringify(await runReplayCommand(resolveEnv(), opts), null, 2));
  });

program
  .command("switch")
  .description(
    "point readers of a read model at a checkpoint version built by replay --to, or back at the live version",
  )
  .requiredOption("--projection <name>", "projection whose readers switch (features, recommendations)")
  .option(
    "--version <n>",
    "a checkpoint version built by reckon replay --to (the live consumer keeps writing the live one)",
  )
  .option("--live", "back to the live version, with every event applied while readers were away")
  .action(async (opts: { projection: string; version?: string; live?: boolean }) => {
    const { runSwitchCommand } = await import("../projectors/runtime/switch-command.ts");
    console.log(JSON.stringify(await runSwitchCommand(resolveEnv(), opts), null, 2));
  });

program
  .command("retract")
  .description(
    "take back interaction events (by id or filter) with compensating events every projection undoes",
  )
  .option("--event-id <uuid...>", "retract these events")
  .option("--user <id>", "only this user's events")
  .option("--type <type>", "only events of this type")
  .option("--experiment <key>", "only events carrying this experiment key")
  .option("--from <time>", "only events whose timestamp is at or after this ISO-8601 time")
  .option("--to <time>", "only events whose timestamp is before this ISO-8601 time")
  .option("--reason <text>", "why (kept with every compensating event)")
  .option("--dry-run", "say what would change; change nothing")
  .action(async (opts: Record<string, string | string[] | boolean | undefined>) => {
    const { runRetractCommand } = await import("../ingest/retraction/command.ts");
    const outcome = await runRetractCommand(resolveEnv(), opts);
    console.log(JSON.stringify(outcome, null, 2));
  });

// serving: ranking model lifecycle and offline evaluation (serving/models, serving/eval).
program
  .command("train")
  .description(
    "train the ranker on held-out users (both protocols), export ONNX, gate it on the list it serves, register",
  )
  .option("--activate", "activate the new version after registering it")
  .option("--max-examples <n>", "most candidate pairs the ranker is fitted on (the heaviest; default 200000)")
  .option(
    "--max-users <n>",
    "most held-out users per protocol, each for fitting and for the gate (default 1000)",
  )
  .option("--no-artifact", "do not retrain and publish the batch neighbour artifact")
  .option("--force", "with --activate: activate even when the new model does not pass the list-quality gate")
  .action(
    async (opts: {
      activate?: boolean;
      force?: boolean;
      maxExamples?: string;
      maxUsers?: string;
      artifact: boolean;
    }) => {
      const { trainCommand } = await import("../serving/models/commands.ts");
      console.log(JSON.stringify(await trainCommand(resolveEnv(), opts), null, 2));
    },
  );

const model = program.command("model").description("ranking model registry");
model
  .command("list")
  .description("registered versions, metrics, which is active")
  .action(async () => {
    const { listCommand } = await import("../serving/models/commands.ts");
    console.log(JSON.stringify(await listCommand(resolveEnv()), null, 2));
  });
model
  .command("activate")
  .description("make VERSION the serving model (roll forward or back); servers swap without failing requests")
  .argument("<version>")
  .action(async (version: string) => {
    const { activateCommand } = await import("../serving/models/commands.ts");
    console.log(JSON.stringify(await activateCommand(resolveEnv(), version)));
  });
model
  .command("register")
  .description("register an ONNX ranking model trained elsewhere (signature: docs/guides/recommendations.md)")
  .argument("<file>")
  .option("--artifact-version <v>", "batch neighbour artifact to serve with it")
  .option("--activate", "activate it")
  .action(async (file: string, opts: { artifactVersion?: string; activate?: boolean }) => {
    const { registerCommand } = await import("../serving/models/commands.ts");
    console.log(JSON.stringify(await registerCommand(resolveEnv(), file, opts)));
  });

program
  .command("config")
  .description(
    "print the configuration in force: every variable's value and source (env, .reckon file, default), secrets redacted",
  )
  .option("--json", "as JSON")
  .option(
    "--markdown",
    "print the configuration reference instead (every variable, generated from the schema)",
  )
  .action((opts: { json?: boolean; markdown?: boolean }) => {
    const { output, exitCode } = configCommand(layeredEnv(), opts);
    process.stdout.write(output);
    process.exitCode = exitCode;
  });

program
  .command("eval")
  .description("offline evaluation (MovieLens protocol): reckon eval --ratings FILE.csv")
  .allowUnknownOption()
  .helpOption(false)
  .argument("[args...]")
  .action(async (args: string[]) => {
    const { evalCommand } = await import("../serving/eval/run-eval.ts");
    await evalCommand(args);
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else logger.error({ err }, (err as Error).message);
  process.exit(1);
});
