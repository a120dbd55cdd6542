import { Command, Option } from "commander";
import { BENCH_MODES, DEFAULT_DATASET_DIR, type BenchMode } from "./support.ts";

/** What a bench may be told on the command line; each bench reads the options it knows. */
interface BenchOptions {
  /** Folder of the ratings data set the quality bench measures on. */
  readonly dataset: string;
  /** False with --no-api: the quality bench measures offline only (no stack needed). */
  readonly api: boolean;
  /** ingest, freshness, serving: on the server stack, embedded, or both side by side. */
  readonly mode: BenchMode | "both";
  /** ingest: seconds of the measured load; embedded: events to ingest before the restart. */
  readonly seconds?: string;
  readonly events?: string;
  readonly users?: string;
}

/**
 * `npm run bench -- <name>`: each benchmark prints one JSON document with its figures and the baseline measured
 * in the same run (see ../shared/docs/BENCHMARKS.md). Machines here are noisy: read the ratios.
 */
const benches: Record<string, (options: BenchOptions) => Promise<unknown>> = {
  ingest: async ({ mode, seconds }) =>
    (await import("./ingest.ts")).runIngestBench({ mode, seconds: seconds ? Number(seconds) : undefined }),
  embedded: async ({ events, users }) => {
    const { runEmbeddedBench, countOption } = await import("./embedded.ts");
    return runEmbeddedBench({
      events: countOption("--events", events),
      users: countOption("--users", users),
    });
  },
  serving: async ({ mode }) => (await import("./serving.ts")).runServingBench({ mode }),
  quality: async ({ dataset, api }) => (await import("./quality.ts")).runQualityBench({ dataset, api }),
  "quality-mirror": async ({ dataset }) =>
    (await import("./quality-mirror.ts")).runQualityMirror({ dataset }),
  experiments: async () => (await import("./experiments.ts")).runExperimentsBench(),
  freshness: async ({ mode, seconds }) =>
    (await import("./freshness.ts")).runFreshnessBench({
      mode,
      seconds: seconds ? Number(seconds) : undefined,
    }),
  rebuild: async () => (await import("./rebuild.ts")).runRebuildBench(),
  recovery: async () => (await import("./recovery.ts")).runRecoveryBench(),
  transport: async () => (await import("./transport.ts")).runTransportBench(),
  search: async () => (await import("./search.ts")).runSearchBench(),
};

const program = new Command("bench")
  .argument("[names...]", `benchmarks to run: ${Object.keys(benches).join(", ")} (default: all)`)
  .option(
    "--dataset <dir>",
    "ratings data set folder (a MovieLens ratings.csv) for the quality benches; env RECKON_ML_DATASET",
    process.env.RECKON_ML_DATASET ?? DEFAULT_DATASET_DIR,
  )
  .option("--no-api", "quality bench: offline figures only, without the API run (needs no stack)")
  .addOption(
    new Option("--mode <mode>", "ingest, freshness, serving: where Reckon runs")
      .choices(BENCH_MODES)
      .default("stack"),
  )
  .option("--seconds <n>", "ingest, freshness: seconds of measured load (default 30)")
  .option("--events <n>", "embedded: events ingested before the restart (default 1000000)")
  .option("--users <n>", "embedded: distinct users the events are spread over (default 100000)")
  .action(async (names: string[], options: BenchOptions) => {
    const selected = names.length > 0 ? names : Object.keys(benches);
    for (const name of selected) {
      const bench = benches[name];
      if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(", ")}`);
      console.log(JSON.stringify(await bench(options), null, 2));
    }
  });

program.parseAsync().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
