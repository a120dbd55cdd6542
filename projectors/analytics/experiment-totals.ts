// Keeps `experiment_user_totals` (one row per running experiment and exposed user, see migration 005)
// up to date as the analytics projection inserts events, so results of a running experiment read one
// row per user instead of every event. The rows are a cache the reader verifies (every exposed user
// present, every row computed with the current definition) and falls back from, so a missed update
// costs speed, never a wrong number.
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { Queryable } from "../../core/postgres/database.ts";
import type { ExistingExperiment, ExperimentDefinition } from "../../ingest/experiments/index.ts";
import { logger } from "../../core/logger.ts";
import { TOTALS_EPOCH_MS, buildUserTotalsInsert, definitionHash } from "./experiment-totals-sql.ts";

export interface RunningExperiment {
  readonly key: string;
  /** The experiment's version: a later definition's rows replace an earlier one's. */
  readonly version: number;
  readonly definition: ExperimentDefinition;
}

/** Where the projection learns which experiments run and with which metrics. */
export interface RunningExperimentsSource {
  /** `refresh` skips the cache (a batch names an experiment the cache does not know). */
  running(options?: { refresh?: boolean }): Promise<readonly RunningExperiment[]>;
  /**
   * Whether the source answers. The projection reports itself unhealthy while it does not, so the
   * runtime retries its batches instead of bisecting them into the dead-letter topic: a batch cannot be
   * applied without knowing which experiments run.
   */
  healthy?(): Promise<boolean>;
}

/**
 * The running experiments from the write model (Postgres `experiments`), cached for `ttlMs`. Postgres is
 * always ahead of the log: an experiment's exposures are assigned only once its start is committed.
 */
export function postgresRunningExperiments(db: Queryable, ttlMs = 2_000): RunningExperimentsSource {
  let cached: { at: number; value: Promise<readonly RunningExperiment[]> } | undefined;
  const load = async (): Promise<readonly RunningExperiment[]> => {
    const { rows } = await db.query<{ key: string; state: ExistingExperiment }>(
      "SELECT key, state FROM experiments WHERE status = 'running' ORDER BY key",
    );
    return rows.map((r) => ({ key: r.key, version: r.state.version, definition: r.state.definition }));
  };
  return {
    async healthy() {
      try {
        await db.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    running(options) {
      const now = Date.now();
      if (!cached || options?.refresh || now - cached.at > ttlMs) {
        const value = load();
        cached = { at: now, value };
        value.catch(() => {
          if (cached?.value === value) cached = undefined; // a failed read is not cached
        });
      }
      return cached.value;
    },
  };
}

/** The event types an experiment's per-user values read (besides its exposures). */
export function metricEventTypes(definition: ExperimentDefinition): Set<string> {
  const types = new Set<string>();
  for (const m of definition.metrics) {
    if (m.type === "ratio") types.add(m.numerator.event_type).add(m.denominator.event_type);
    else types.add(m.event_type);
  }
  return types;
}

/** An exposure time before any analysis window: the placeholder of a user whose row is not current. */
const INVALID_X_MS = -1;

/** After a rebuild ClickHouse rejected, wait this long before trying it again. */
const REBUILD_RETRY_MS = 60_000;

/** At most one forced refresh per this many ms, so unknown experiment keys cannot hammer Postgres. */
const REFRESH_INTERVAL_MS = 1_000;

export interface ExperimentTotalsOptions {
  clickhouse: ClickHouseStore;
  source: RunningExperimentsSource;
  database?: string;
}

interface BatchEvent {
  readonly user_id: string;
  readonly type: string;
  readonly experiment_key: string;
}

export class ExperimentTotals {
  private readonly ch: ClickHouseStore;
  private readonly source: RunningExperimentsSource;
  private readonly database: string;
  /** experiment key + definition hash whose full rebuild is done (or running), per process. */
  private readonly built = new Map<string, Promise<void>>();
  private lastRefresh = 0;

  constructor(options: ExperimentTotalsOptions) {
    this.ch = options.clickhouse;
    this.source = options.source;
    this.database = options.database ?? "reckon";
  }

  /**
   * After a batch's events are stored: make sure every running experiment's totals were built for its
   * current definition, then recompute the rows of the batch's users who were exposed to one.
   */
  async afterInsert(events: readonly BatchEvent[]): Promise<void> {
    if (events.length === 0) return;
    let running = await this.source.running();
    const known = new Set(running.map((e) => e.key));
    const unknown = events.some(
      (e) => e.type === "exposure" && e.experiment_key && !known.has(e.experiment_key),
    );
    if (unknown && Date.now() - this.lastRefresh >= REFRESH_INTERVAL_MS) {
      this.lastRefresh = Date.now();
      running = await this.source.running({ refresh: true });
    }
    if (running.length === 0) return;
    for (const experiment of running) await this.ensureBuilt(experiment);

    // A user's totals read only their exposures to the experiment and events of its metrics' types, so
    // only users with such an event in the batch are recomputed (a batch of page views costs nothing).
    const relevant = new Map<string, Set<string>>(); // experiment key → users
    for (const experiment of running) {
      const types = metricEventTypes(experiment.definition);
      const users = new Set<string>();
      for (const e of events) {
        if (types.has(e.type) || (e.type === "exposure" && e.experiment_key === experiment.key))
          users.add(e.user_id);
      }
      if (users.size > 0) relevant.set(experiment.key, users);
    }
    if (relevant.size === 0) return;
    const users = [...new Set([...relevant.values()].flatMap((u) => [...u]))];
    const exposed = await this.ch.query<{ experiment_key: string; users: string[] }>(
      `SELECT toString(experiment_key) AS experiment_key, groupUniqArray(user_id) AS users
         FROM ${this.database}.user_events
        WHERE user_id IN {users:Array(String)} AND type = 'exposure' AND experiment_key IN {keys:Array(String)}
        GROUP BY experiment_key`,
      { keys: [...relevant.keys()], users },
    );
    const byKey = new Map(running.map((e) => [e.key, e]));
    for (const row of exposed) {
      const experiment = byKey.get(row.experiment_key);
      const touched = relevant.get(row.experiment_key);
      if (!experiment || !touched) continue;
      const recompute = row.users.filter((u) => touched.has(u));
      if (recompute.length > 0) await this.recomputeOrInvalidate(experiment, recompute);
    }
  }

  /**
   * A recompute ClickHouse rejects must not fail the batch (its events are stored; the totals are a
   * cache) nor leave the users' earlier values looking current: their rows are replaced by placeholders
   * outside every analysis window, so readers see them missing and compute from the events.
   */
  private async recomputeOrInvalidate(
    experiment: RunningExperiment,
    users: readonly string[],
  ): Promise<void> {
    try {
      await this.recompute(experiment, users);
    } catch (error) {
      if (!(await this.ch.ping().catch(() => false))) throw error; // an outage: the batch is retried
      logger.error(
        { err: error, experiment: experiment.key, users: users.length },
        "experiment totals recompute failed; those users' results come from the events",
      );
      const ver = (BigInt(experiment.version) << 42n) + BigInt(Date.now() - TOTALS_EPOCH_MS);
      await this.ch.insert(
        `${this.database}.experiment_user_totals`,
        users.map((user_id) => ({
          experiment_key: experiment.key,
          user_id,
          x_ms: INVALID_X_MS,
          def_hash: "",
          post: [],
          pre: [],
          den: [],
          ver: ver.toString(),
        })),
      );
    }
  }

  /** Recomputes every exposed user's row of each running experiment (after a replay, or on demand). */
  async rebuildAll(): Promise<void> {
    for (const experiment of await this.source.running({ refresh: true })) {
      await this.rebuild(experiment);
    }
  }

  private ensureBuilt(experiment: RunningExperiment): Promise<void> {
    const hash = definitionHash(experiment.definition);
    const id = `${experiment.key}\u0000${hash}`;
    let done = this.built.get(id);
    if (!done) {
      done = (async () => {
        const rows = await this.ch.query<{ n: string }>(
          `SELECT count() AS n FROM ${this.database}.experiment_totals_builds
            WHERE experiment_key = {experiment:String} AND def_hash = {definition_hash:String}`,
          { experiment: experiment.key, definition_hash: hash },
        );
        if (Number(rows[0]?.n ?? 0) === 0) await this.rebuild(experiment);
      })().catch(async (error: unknown) => {
        this.built.delete(id);
        if (!(await this.ch.ping().catch(() => false))) throw error; // an outage: the batch is retried
        // Rejected by a healthy ClickHouse: without a build the reader computes from the events, so the
        // batch goes on; the rebuild is tried again after a pause rather than on every batch.
        logger.error({ err: error, experiment: experiment.key }, "experiment totals rebuild failed");
        const pause = new Promise<void>((resolve) => setTimeout(resolve, REBUILD_RETRY_MS).unref());
        this.built.set(id, pause);
        void pause.then(() => this.built.get(id) === pause && this.built.delete(id));
      });
      this.built.set(id, done);
    }
    return done;
  }

  private async rebuild(experiment: RunningExperiment): Promise<void> {
    const started = Date.now();
    await this.recompute(experiment);
    // The rebuild leaves the previous definition's rows beside the new ones: one part per experiment
    // keeps every later FINAL read from merging them.
    if (/^[A-Za-z0-9_.-]+$/.test(experiment.key)) {
      await this.ch.command(
        `OPTIMIZE TABLE ${this.database}.experiment_user_totals PARTITION '${experiment.key}' FINAL`,
      );
    }
    const hash = definitionHash(experiment.definition);
    const rows = await this.ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${this.database}.experiment_user_totals FINAL
        WHERE experiment_key = {experiment:String} AND def_hash = {definition_hash:String}`,
      { experiment: experiment.key, definition_hash: hash },
    );
    const users = Number(rows[0]?.n ?? 0);
    await this.ch.insert(`${this.database}.experiment_totals_builds`, [
      { experiment_key: experiment.key, def_hash: hash, users, built_at: new Date() },
    ]);
    logger.info(
      { experiment: experiment.key, definition: hash, users, ms: Date.now() - started },
      "experiment totals rebuilt",
    );
  }

  private async recompute(experiment: RunningExperiment, users?: readonly string[]): Promise<void> {
    const query = buildUserTotalsInsert({
      experiment: experiment.definition,
      definitionHash: definitionHash(experiment.definition),
      definitionVersion: experiment.version,
      ...(users ? { users } : {}),
      database: this.database,
    });
    await this.ch.command(query.sql, query.params);
  }
}
