import { Command } from "commander";

/**
 * `npm run bench -- <name>`: each benchmark prints one JSON document with its figures and the baseline measured
 * in the same run (see ../shared/docs/BENCHMARKS.md). Machines here are noisy: read the ratios.
 */
const benches: Record<string, () => Promise<unknown>> = {
  ingest: async () => (await import("./ingest.ts")).runIngestBench(),
  serving: async () => (await import("./serving.ts")).runServingBench(),
  quality: async () => (await import("./quality-api.ts")).runQualityApiBench(),
  experiments: async () => (await import("./experiments.ts")).runExperimentsBench(),
  freshness: async () => (await import("./freshness.ts")).runFreshnessBench(),
  rebuild: async () => (await import("./rebuild.ts")).runRebuildBench(),
  recovery: async () => (await import("./recovery.ts")).runRecoveryBench(),
};

const program = new Command("bench")
  .argument("[names...]", `benchmarks to run: ${Object.keys(benches).join(", ")} (default: all)`)
  .action(async (names: string[]) => {
    const selected = names.length > 0 ? names : Object.keys(benches);
    for (const name of selected) {
      const bench = benches[name];
      if (!bench) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(", ")}`);
      console.log(JSON.stringify(await bench(), null, 2));
    }
  });

program.parseAsync().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
