// `npm run bench -- experiments`: time to compute one experiment's results (sufficient statistics in
// ClickHouse + analytics/stats) over 1,000,000 exposed users and 10,000,000 events, beside a raw scan of
// the same rows in the same run. Runs on the in-process engine in a temporary data directory, so it never
// touches a live store (libchdb binds one data directory per process: run it in its own process).
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { openClickHouse } from "../core/clickhouse/open.ts";
import type { ClickHouseStore } from "../core/clickhouse/port.ts";
import { ExperimentDefinitionSchema } from "../ingest/experiments/index.ts";
import { migrateAnalyticsSchema } from "../projectors/analytics/migrate.ts";
import { toArmStats } from "../analytics/queries/arm-stats.ts";
import {
  loadCumulativeStatistics,
  loadVariantStatisticsWithSource,
  userCountsFromStatistics,
} from "../analytics/queries/experiment-stats.ts";
import { ExperimentTotals } from "../projectors/analytics/experiment-totals.ts";
import { buildUserTotalsInsert, definitionHash } from "../projectors/analytics/experiment-totals-sql.ts";
import { analyzeMetric } from "../analytics/stats/index.ts";

export interface ExperimentsBenchOptions {
  users?: number;
  events?: number;
  /** Timed repetitions of each measurement; the median is reported. */
  runs?: number;
  /**
   * Keep the data set in this directory instead of a temporary one, and reuse it when it already holds
   * the events (generation takes minutes; measuring takes seconds). Never point it at a live store.
   */
  dataDir?: string;
  /** Skip the OPTIMIZE and the after-merge measurement (e.g. to measure a saved unmerged copy twice). */
  skipMerge?: boolean;
  /**
   * Also time the cumulative series once at the end (the results endpoint's `cumulative` option), which
   * recomputes the statistics once per UTC day: not part of the results figure above.
   */
  cumulative?: boolean;
}

const DAY_MS = 86_400_000;
const T0 = Date.parse("2024-03-01T00:00:00.000Z");
export const BENCH_NOW = new Date(T0 + 14 * DAY_MS);

export const BENCH_EXPERIMENT = ExperimentDefinitionSchema.parse({
  key: "bench-exp",
  name: "Benchmark experiment",
  variants: [
    { key: "control", weight: 0.5 },
    { key: "treatment", weight: 0.5 },
  ],
  control: "control",
  metrics: [
    { key: "purchased", type: "conversion", event_type: "purchase", window_hours: 72 },
    { key: "revenue", type: "mean", event_type: "purchase", capping: { type: "percentile", value: 0.99 } },
    {
      key: "ctr",
      type: "ratio",
      numerator: { event_type: "click", value: "count" },
      denominator: { event_type: "view", value: "count" },
    },
  ],
});

/**
 * Deterministic synthetic data: every user is exposed once (UTC days 0-6), other events fall over
 * days -7..14 (so pre-periods have data), 60% views, 30% clicks, 10% purchases; treatment users'
 * purchase values are 5% higher.
 */
export async function generateBenchData(ch: ClickHouseStore, users: number, events: number): Promise<void> {
  const params = { users, t0_ms: T0, day_ms: DAY_MS };
  await ch.command(
    `INSERT INTO reckon.events (event_id, type, user_id, occurred_at, experiment_key, variant, device, country,
                                position, transaction_id, received_at)
     SELECT reinterpretAsUUID(toUInt128(number + 1)),
            'exposure',
            concat('u', toString(number)),
            fromUnixTimestamp64Milli(toInt64({t0_ms:Int64} + cityHash64(number, 1) % (7 * {day_ms:Int64})), 'UTC'),
            'bench-exp',
            if(cityHash64(number, 2) % 2 = 0, 'control', 'treatment'),
            ['mobile', 'desktop', 'tablet'][cityHash64(number, 3) % 3 + 1],
            ['DE', 'US', 'FR', 'GB'][cityHash64(number, 4) % 4 + 1],
            number + 1, number + 1, now64(3)
       FROM numbers({users:UInt64})`,
    params,
  );
  await ch.command(
    `INSERT INTO reckon.events (event_id, type, user_id, item_id, occurred_at, value, position, transaction_id, received_at)
     SELECT reinterpretAsUUID(toUInt128(number + 1) + bitShiftLeft(toUInt128(1), 64)),
            multiIf(h % 10 < 6, 'view', h % 10 < 9, 'click', 'purchase') AS type,
            concat('u', toString(u)),
            concat('i', toString(cityHash64(number, 11) % 10000)),
            fromUnixTimestamp64Milli(toInt64({t0_ms:Int64} - 7 * {day_ms:Int64} + cityHash64(number, 13) % (21 * {day_ms:Int64})), 'UTC'),
            if(type = 'purchase',
               (cityHash64(number, 12) % 10000) / 100 * if(cityHash64(u, 2) % 2 = 0, 1.0, 1.05),
               NULL),
            {users:UInt64} + number + 1, {users:UInt64} + number + 1, now64(3)
       FROM (SELECT number, cityHash64(number, 10) % {users:UInt64} AS u, cityHash64(number, 14) AS h
               FROM numbers({events:UInt64}))`,
    { ...params, events: events - users },
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Wall time, and the process's CPU time over the same span: the engine runs in-process, so on a shared
 * machine CPU time shows what a query costs while wall time also shows what other work took from it.
 */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, value };
}

/**
 * As the results endpoint for a running experiment (analytics/experiments/clickhouse-statistics.ts): an
 * open analysis, SRM counts from the statistics. `events` forces the computation from every event (what
 * the endpoint falls back to when the maintained per-user totals do not cover the experiment).
 */
async function computeResults(ch: ClickHouseStore, from: "user_totals" | "events") {
  const loaded = await loadVariantStatisticsWithSource(ch, BENCH_EXPERIMENT, {
    now: BENCH_NOW,
    open: true,
    source: from === "events" ? "events" : "auto",
  });
  if (loaded.source !== from) throw new Error(`results came from ${loaded.source}, expected ${from}`);
  const stats = loaded.statistics;
  const counts = userCountsFromStatistics(BENCH_EXPERIMENT, stats);
  const weights = BENCH_EXPERIMENT.variants.map((v) => v.weight);
  return BENCH_EXPERIMENT.metrics.map((metric) => {
    const arm = (variant: string) =>
      toArmStats(
        stats.find((s) => s.metric === metric.key && s.variant === variant)!,
        {
          cuped: metric.type !== "ratio",
        },
      );
    const analysis = analyzeMetric(arm("control"), [arm("treatment")], { weights });
    const v = analysis.variants[0]!;
    return {
      metric: metric.key,
      users: counts.map((c) => c.users),
      control_mean: analysis.control.mean,
      treatment_mean: v.mean,
      relative_lift: v.relative.expected,
      p_value: v.relative.pValue,
      cuped_theta: v.cuped?.theta ?? null,
      srm_p_value: analysis.srm?.pValue ?? null,
    };
  });
}

const RAW_SCAN_SQL = "SELECT count() AS n, sum(value) AS total FROM reckon.events";

/** A projected batch's worth of users, whose totals the projection recomputes after inserting it. */
const BATCH_USERS = 500;

async function measure(ch: ClickHouseStore, runs: number, users: number) {
  const totalsTimes: number[] = [];
  const totalsCpu: number[] = [];
  const eventsTimes: number[] = [];
  const eventsCpu: number[] = [];
  const rawTimes: number[] = [];
  const rawCpu: number[] = [];
  const finalTimes: number[] = [];
  const batchTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const fromTotals = await timed(() => computeResults(ch, "user_totals"));
    totalsTimes.push(fromTotals.ms);
    totalsCpu.push(fromTotals.cpuMs);
    const fromEvents = await timed(() => computeResults(ch, "events"));
    eventsTimes.push(fromEvents.ms);
    eventsCpu.push(fromEvents.cpuMs);
    const raw = await timed(() => ch.query(RAW_SCAN_SQL));
    rawTimes.push(raw.ms);
    rawCpu.push(raw.cpuMs);
    finalTimes.push(
      (await timed(() => ch.query(RAW_SCAN_SQL.replace("reckon.events", "reckon.events FINAL")))).ms,
    );
    const batch = buildUserTotalsInsert({
      experiment: BENCH_EXPERIMENT,
      definitionHash: definitionHash(BENCH_EXPERIMENT),
      definitionVersion: 1,
      users: Array.from({ length: BATCH_USERS }, (_, j) => `u${(j * 7919 + i * 104729) % users}`),
    });
    batchTimes.push((await timed(() => ch.command(batch.sql, batch.params))).ms);
  }
  const resultsMs = median(totalsTimes);
  const rawMs = median(rawTimes);
  return {
    results_ms: Math.round(resultsMs),
    results_ms_runs: totalsTimes.map(Math.round),
    results_cpu_ms: Math.round(median(totalsCpu)),
    results_from_events_ms: Math.round(median(eventsTimes)),
    results_from_events_cpu_ms: Math.round(median(eventsCpu)),
    raw_scan_ms: Math.round(rawMs),
    raw_scan_cpu_ms: Math.round(median(rawCpu)),
    raw_scan_final_ms: Math.round(median(finalTimes)),
    results_to_raw_scan_ratio: Number((resultsMs / rawMs).toFixed(1)),
    results_from_events_to_raw_scan_ratio: Number((median(eventsTimes) / rawMs).toFixed(1)),
    recompute_batch_users: BATCH_USERS,
    recompute_batch_ms: Math.round(median(batchTimes)),
  };
}

/** Largest relative difference between the two sources' numbers (they differ only by summation order). */
function largestDifference(a: Awaited<ReturnType<typeof computeResults>>, b: typeof a): number {
  let worst = 0;
  a.forEach((row, i) => {
    for (const [key, value] of Object.entries(row)) {
      const other = (b[i] as Record<string, unknown>)[key];
      if (typeof value !== "number" || typeof other !== "number") continue;
      const scale = Math.max(Math.abs(value), Math.abs(other));
      if (scale > 0) worst = Math.max(worst, Math.abs(value - other) / scale);
    }
  });
  return worst;
}

export async function runExperimentsBench(options: ExperimentsBenchOptions = {}) {
  const users = options.users ?? 1_000_000;
  const events = options.events ?? 10_000_000;
  const runs = options.runs ?? 3;
  const keep = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "reckon-bench-experiments-"));
  const ch = await openClickHouse(`chdb://${path.resolve(dataDir)}`);
  try {
    await migrateAnalyticsSchema(ch);
    const [existing] = await ch.query<{ n: string }>("SELECT count() AS n FROM reckon.events");
    const reused = keep && Number(existing!.n) > 0;
    const generation = reused ? { ms: Number.NaN } : await timed(() => generateBenchData(ch, users, events));
    const [rowsAndParts] = await ch.query<{ rows: string; parts: string; bytes: string }>(
      `SELECT sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytes
         FROM system.parts WHERE database = 'reckon' AND table = 'events' AND active`,
    );

    // The per-user totals the analytics projection keeps for a running experiment: built once over every
    // exposed user, as the projection does when an experiment starts or its definition changes (then
    // kept up to date batch by batch, which recompute_batch_ms measures).
    const running = { key: BENCH_EXPERIMENT.key, version: 1, definition: BENCH_EXPERIMENT };
    const totals = new ExperimentTotals({
      clickhouse: ch,
      source: { running: () => Promise.resolve([running]) },
    });
    const [built] = await ch.query<{ n: string }>(
      "SELECT count() AS n FROM reckon.experiment_totals_builds WHERE def_hash = {h:String}",
      { h: definitionHash(BENCH_EXPERIMENT) },
    );
    const rebuild =
      Number(built!.n) > 0 ? { ms: Number.NaN, cpuMs: Number.NaN } : await timed(() => totals.rebuildAll());

    // One untimed warm-up, then the median of `runs`: right after the bulk load (several overlapping
    // parts, so FINAL has to merge) and again once the parts are merged, as background merges leave a
    // table that is not written to in bulk.
    const results = await computeResults(ch, "user_totals");
    const fromEvents = await computeResults(ch, "events");
    const unmerged = await measure(ch, runs, users);
    const optimize = options.skipMerge
      ? { ms: Number.NaN }
      : await timed(async () => {
          await ch.command("OPTIMIZE TABLE reckon.events FINAL");
          await ch.command("OPTIMIZE TABLE reckon.experiment_user_totals FINAL");
        });
    if (!options.skipMerge) await computeResults(ch, "user_totals");
    const merged = options.skipMerge ? null : await measure(ch, runs, users);
    const cumulative = options.cumulative
      ? await timed(() => loadCumulativeStatistics(ch, BENCH_EXPERIMENT, { now: BENCH_NOW }))
      : null;
    const [raw] = await ch.query<{ n: string }>("SELECT count() AS n FROM reckon.events");
    return {
      bench: "experiments",
      engine: "chdb (in-process ClickHouse)",
      data: {
        exposed_users: users,
        events: Number(raw!.n),
        reused_data_dir: reused ? path.resolve(dataDir) : null,
        events_table_parts_before_measuring: Number(rowsAndParts!.parts),
        events_table_bytes: Number(rowsAndParts!.bytes),
        generate_ms: Number.isNaN(generation.ms) ? null : Math.round(generation.ms),
        optimize_final_ms: Number.isNaN(optimize.ms) ? null : Math.round(optimize.ms),
        totals_rebuild_ms: Number.isNaN(rebuild.ms) ? null : Math.round(rebuild.ms),
        totals_rebuild_cpu_ms: Number.isNaN(rebuild.cpuMs) ? null : Math.round(rebuild.cpuMs),
      },
      metrics: BENCH_EXPERIMENT.metrics.map((m) => `${m.key} (${m.type})`),
      runs,
      load_average_1m_at_end: Number(loadavg()[0]!.toFixed(2)),
      raw_scan_sql: RAW_SCAN_SQL,
      after_load: unmerged,
      after_merge: merged,
      cumulative_series: cumulative && {
        days: cumulative.value.length,
        ms: Math.round(cumulative.ms),
        cpu_ms: Math.round(cumulative.cpuMs),
      },
      goal_results_under_ms: 1000,
      goal_met: {
        after_load: unmerged.results_ms < 1000,
        after_merge: merged === null ? null : merged.results_ms < 1000,
      },
      results,
      results_from_events_largest_relative_difference: largestDifference(results, fromEvents),
    };
  } finally {
    await ch.close();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const options: ExperimentsBenchOptions = {};
  const u = arg("users");
  const e = arg("events");
  const r = arg("runs");
  if (u !== undefined) options.users = u;
  if (e !== undefined) options.events = e;
  if (r !== undefined) options.runs = r;
  const dir = process.argv.indexOf("--data-dir");
  if (dir > 0 && process.argv[dir + 1]) options.dataDir = process.argv[dir + 1]!;
  if (process.argv.includes("--skip-merge")) options.skipMerge = true;
  if (process.argv.includes("--cumulative")) options.cumulative = true;
  console.log(JSON.stringify(await runExperimentsBench(options), null, 2));
}
