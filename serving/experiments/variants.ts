// Runs a recommendation variant under an experiment: GET /v1/recommendations?experiment=KEY assigns the
// user as GET /v1/experiments/:key/assignment does (same hashing, same exposure event), records the
// exposure with the answer, and ranks with what the variant's `serving` settings name.
import type { Database } from "../../core/postgres/database.ts";
import { logger } from "../../core/logger.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import type { ExistingExperiment } from "../../ingest/experiments/index.ts";
import { createAssigner, exposureEvent, type Assignment } from "../assignment/index.ts";
import { HoldoutGate } from "./holdout-gate.ts";
import { HEURISTIC_RANKER, loadRanker, type Ranker } from "../models/model-holder.ts";
import { loadModel } from "../models/registry.ts";

/** What the answer says about the experiment. */
export type ExperimentArm =
  | {
      key: string;
      variant: string;
      exposure: { event_id: string; status: "accepted" | "duplicate" | "recorded_earlier" };
    }
  | { key: string; variant: null; reason: "not_found" | "not_running" | "not_in_traffic" | "held_out" };

export interface ArmAndRanker {
  arm: ExperimentArm;
  /** The variant's ranker; undefined = the active one (no experiment, or the variant says so). */
  ranker?: Ranker;
}

export interface ExperimentVariantsOptions {
  db: Database;
  /** How long a definition is reused before it is read again; default 2 s. */
  ttlMs?: number;
  /** Users whose exposure this process has stored, remembered to skip the write; default 100,000. */
  rememberExposures?: number;
  now?: () => Date;
}

interface CachedExperiment {
  at: number;
  state: Promise<ExistingExperiment | undefined>;
  assign?: { version: number; fn: (userId: string) => Assignment | null };
}

export class ExperimentVariants {
  private readonly db: Database;
  private readonly ttlMs: number;
  private readonly capacity: number;
  private readonly now: () => Date;
  private readonly experiments = new Map<string, CachedExperiment>();
  /** Insertion-ordered, so the oldest entry is evicted first. */
  private readonly exposed = new Map<string, string>();
  private readonly rankers = new Map<number, Promise<Ranker>>();
  private readonly holdouts: HoldoutGate;

  constructor(options: ExperimentVariantsOptions) {
    this.db = options.db;
    this.ttlMs = options.ttlMs ?? 2_000;
    this.capacity = options.rememberExposures ?? 100_000;
    this.now = options.now ?? (() => new Date());
    this.holdouts = new HoldoutGate({ db: this.db, ttlMs: this.ttlMs, now: this.now });
  }

  /**
   * Assigns `userId` in experiment `key` and, when assigned, stores the exposure (once per user: the
   * event id is derived from (experiment, user), and this process remembers whom it already stored).
   */
  async resolve(key: string, userId: string): Promise<ArmAndRanker> {
    const cached = this.definition(key);
    const experiment = await cached.state;
    if (!experiment) return { arm: { key, variant: null, reason: "not_found" } };
    if (experiment.status !== "running") return { arm: { key, variant: null, reason: "not_running" } };
    // A holdout comes first: a held-out user gets the active ranker, as a user outside the traffic does.
    const { heldOutBy } = await this.holdouts.check(key, userId, true);
    if (heldOutBy !== null) return { arm: { key, variant: null, reason: "held_out" } };
    if (cached.assign?.version !== experiment.version) {
      cached.assign = { version: experiment.version, fn: createAssigner(experiment.definition) };
    }
    const assignment = cached.assign.fn(userId);
    if (!assignment) return { arm: { key, variant: null, reason: "not_in_traffic" } };
    const variant = experiment.definition.variants.find((v) => v.key === assignment.variant_key);
    const ranker = await this.rankerFor(variant?.serving?.ranker);
    const exposure = await this.recordExposure(key, assignment.variant_key, userId);
    return { arm: { key, variant: assignment.variant_key, exposure }, ...(ranker ? { ranker } : {}) };
  }

  private definition(key: string): CachedExperiment {
    const now = Date.now();
    let cached = this.experiments.get(key);
    if (!cached || now - cached.at > this.ttlMs) {
      const state = this.db
        .query<{ state: ExistingExperiment }>("SELECT state FROM experiments WHERE key = $1", [key])
        .then((r) => r.rows[0]?.state);
      const next: CachedExperiment = { at: now, state, ...(cached?.assign ? { assign: cached.assign } : {}) };
      state.catch(() => {
        if (this.experiments.get(key) === next) this.experiments.delete(key); // not cached when it failed
      });
      this.experiments.set(key, next);
      cached = next;
    }
    return cached;
  }

  private async recordExposure(
    key: string,
    variant: string,
    userId: string,
  ): Promise<{ event_id: string; status: "accepted" | "duplicate" | "recorded_earlier" }> {
    const id = `${key}\u0000${userId}`;
    const known = this.exposed.get(id);
    if (known) return { event_id: known, status: "recorded_earlier" };
    const event = exposureEvent(key, variant, userId, this.now());
    const appended = await appendInteractionEvents(this.db, [event]);
    this.exposed.set(id, event.event_id);
    if (this.exposed.size > this.capacity) this.exposed.delete(this.exposed.keys().next().value!);
    return { event_id: event.event_id, status: appended.outcomes[0]!.status };
  }

  /** undefined = the active ranker. A registered version is loaded once and kept for the process. */
  private async rankerFor(choice: "heuristic" | "active" | number | undefined): Promise<Ranker | undefined> {
    if (choice === undefined || choice === "active") return undefined;
    if (choice === "heuristic") return HEURISTIC_RANKER;
    let ranker = this.rankers.get(choice);
    if (!ranker) {
      ranker = (async () => {
        const stored = await loadModel(this.db, choice);
        if (!stored)
          throw new Error(`the experiment's variant names model version ${choice}, which is not registered`);
        return loadRanker(choice, stored.onnx, stored.artifact_version);
      })();
      ranker.catch((err: unknown) => {
        this.rankers.delete(choice); // retried on a later request
        logger.error({ err, version: choice }, "experiment variant's ranking model could not be loaded");
      });
      this.rankers.set(choice, ranker);
    }
    return ranker;
  }
}
