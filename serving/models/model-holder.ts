import type { Database } from "../../core/postgres/database.ts";
import { logger } from "../../core/logger.ts";
import { FEATURE_COUNT, heuristicScore } from "../ranking/features.ts";
import { activeVersion, loadModel, MODEL_ACTIVATED_CHANNEL } from "./registry.ts";
import { ONNX_INPUT, ONNX_OUTPUT } from "./logistic.ts";
import { ScoringSession } from "./onnx-session.ts";

/** What one request ranks with: captured once, so a swap mid-request never mixes two models. */
export interface Ranker {
  /** Registry version, or null for the built-in heuristic. */
  readonly version: number | null;
  readonly artifactVersion: number | null;
  /** One batched call: `rows` is candidates × FEATURE_COUNT, row-major. */
  score(rows: Float32Array, count: number): Promise<ArrayLike<number>>;
}

export const HEURISTIC_RANKER: Ranker = {
  version: null,
  artifactVersion: null,
  async score(rows, count) {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++)
      out[i] = heuristicScore(rows.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT));
    return out;
  },
};

class OnnxRanker implements Ranker {
  constructor(
    readonly version: number,
    readonly artifactVersion: number | null,
    readonly session: ScoringSession,
  ) {}

  // Synchronous inside (see onnx-session.ts); the Promise is the Ranker contract the heuristic shares.
  async score(rows: Float32Array, count: number): Promise<ArrayLike<number>> {
    if (count === 0) return new Float32Array(0);
    return this.session.run(rows, count, FEATURE_COUNT);
  }
}

/** Loads an ONNX model and checks it against the ranker signature with a probe batch before it may serve. */
export async function loadRanker(
  version: number,
  onnx: Uint8Array,
  artifactVersion: number | null,
): Promise<Ranker> {
  const session = new ScoringSession(onnx, ONNX_INPUT, ONNX_OUTPUT, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  if (!session.inputNames.includes(ONNX_INPUT) || !session.outputNames.includes(ONNX_OUTPUT)) {
    session.release();
    throw new Error(
      `model ${version}: needs input "${ONNX_INPUT}" and output "${ONNX_OUTPUT}", has ${session.inputNames} → ${session.outputNames}`,
    );
  }
  const ranker = new OnnxRanker(version, artifactVersion, session);
  let probe: ArrayLike<number>;
  try {
    probe = await ranker.score(new Float32Array(2 * FEATURE_COUNT), 2);
  } catch (err) {
    session.release();
    throw err;
  }
  if (probe.length !== 2) {
    session.release();
    throw new Error(`model ${version}: output must have one score per row, got ${probe.length} for 2 rows`);
  }
  return ranker;
}

export interface ModelHolderOptions {
  db: Database;
  /** Poll interval (ms): the fallback when a NOTIFY is missed. */
  pollMs?: number;
  /** How long a replaced session stays open for requests that captured it. */
  releaseAfterMs?: number;
}

/**
 * Serving's view of the registry: the active ranker, swapped atomically when another version is activated
 * (NOTIFY, or the poll). A new version is loaded and probed before it replaces the old one; a version that
 * fails to load is logged and the current ranker keeps serving, so activation can never fail a request.
 */
export class ModelHolder {
  private ranker: Ranker = HEURISTIC_RANKER;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private refreshing: Promise<void> | undefined;
  private failedVersion: number | undefined;

  constructor(private readonly options: ModelHolderOptions) {}

  current(): Ranker {
    return this.ranker;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs ?? 2000);
    this.timer.unref();
    this.unlisten = await this.options.db
      .listen(MODEL_ACTIVATED_CHANNEL, () => void this.refresh())
      .catch((err: unknown) => {
        logger.warn({ err }, "model registry LISTEN unavailable; polling only");
        return undefined;
      });
  }

  /** Loads the active version if it changed; concurrent calls share one refresh. */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const version = await activeVersion(this.options.db);
      if (version === undefined || version === this.ranker.version || version === this.failedVersion) return;
      const stored = await loadModel(this.options.db, version);
      if (!stored) return;
      const next = await loadRanker(version, stored.onnx, stored.artifact_version);
      const previous = this.ranker;
      this.ranker = next;
      this.failedVersion = undefined;
      logger.info({ version, previous: previous.version }, "ranking model activated");
      if (previous instanceof OnnxRanker) {
        const t = setTimeout(() => previous.session.release(), this.options.releaseAfterMs ?? 10_000);
        t.unref();
      }
    } catch (err) {
      logger.error({ err }, "could not load the active ranking model; the current one keeps serving");
      const version = await activeVersion(this.options.db).catch(() => undefined);
      this.failedVersion = version;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.unlisten?.().catch(() => undefined);
  }
}
