import { readFile } from "node:fs/promises";
import { recordAudit } from "../../core/audit/audit-log.ts";
import type { Env } from "../../core/config/env.ts";
import { openDatabase } from "../../core/postgres/database.ts";
import { migrate } from "../../core/postgres/migrate.ts";
import { openProjectionStore } from "../../projectors/store/open.ts";
import { featuresConfig } from "../../core/read-models/features-config.ts";
import { servingConfig } from "../ranking/config.ts";
import { activateArtifact, artifactKeys } from "./artifact-store.ts";
import { loadRanker } from "./model-holder.ts";
import { activateModel, listModels, loadModel, registerModel, RANKER_SIGNATURE } from "./registry.ts";
import { trainAndRegister } from "./train.ts";
import { cliActor } from "../../core/audit/audit-command.ts";
import { shouldActivate, type RetrainMetrics } from "./retrain-schedule.ts";

/** The `reckon train` and `reckon model ...` commands (bin/reckon.ts wires them to the CLI). */

async function withStores<T>(env: Env, work: (s: { db: ReturnType<typeof openDatabase> }) => Promise<T>) {
  const db = openDatabase(env.DATABASE_URL);
  try {
    await migrate(db);
    return await work({ db });
  } finally {
    await db.close();
  }
}

export async function trainCommand(
  env: Env,
  opts: {
    activate?: boolean;
    force?: boolean;
    maxExamples?: string;
    maxUsers?: string;
    artifact?: boolean;
  },
) {
  return withStores(env, async ({ db }) => {
    const redis =
      opts.artifact !== false && env.REDIS_URL ? await openProjectionStore(env.REDIS_URL) : undefined;
    try {
      const report = await trainAndRegister({
        db,
        redis,
        prefix: env.RECKON_REDIS_PREFIX,
        activate: false,
        maxExamples: opts.maxExamples ? positiveInteger("--max-examples", opts.maxExamples) : undefined,
        maxUsers: opts.maxUsers ? positiveInteger("--max-users", opts.maxUsers) : undefined,
        features: featuresConfig(env),
        historySeeds: servingConfig(env).historySeeds,
        log: (m) => console.error(m),
        actor: cliActor(),
      });
      // --activate takes the new model live only when the list it serves beats the current one's on held-out
      // users under both protocols (the gate, list-gate.ts); --force overrides, e.g. to roll forward deliberately.
      const gate = (report.metrics as unknown as RetrainMetrics).gate;
      const activated = opts.activate === true && (shouldActivate({ gate }) || opts.force === true);
      if (activated) {
        await activateModel(db, report.version, cliActor());
        if (redis && report.artifact_version !== null)
          await activateArtifact(redis, env.RECKON_REDIS_PREFIX, report.artifact_version);
      } else if (opts.activate) {
        console.error(`model ${report.version} registered but not activated: ${gate.reason}`);
      }
      // The gate's verdict; activateModel records the activation itself.
      if (opts.activate)
        await recordAudit(db, {
          actor: cliActor(),
          action: "model.gate",
          target: String(report.version),
          outcome: activated ? "ok" : "refused",
          details: {
            reason: gate.reason,
            forced: activated && !gate.activate,
            list: gateList(report.metrics),
          },
        });
      return { ...report, activated, activation: gate.reason };
    } finally {
      await redis?.close();
    }
  });
}

export async function activateCommand(env: Env, version: string) {
  const v = Number(version);
  if (!Number.isInteger(v) || v < 1) throw new Error(`VERSION must be a positive integer, got "${version}"`);
  return withStores(env, async ({ db }) => {
    await activateModel(db, v, cliActor());
    const stored = await loadModel(db, v);
    let artifact: number | null = null;
    if (env.REDIS_URL && stored?.artifact_version) {
      const redis = await openProjectionStore(env.REDIS_URL);
      try {
        const prefix = env.RECKON_REDIS_PREFIX;
        // Old artifacts are pruned; serving then keeps the current one rather than pointing at nothing.
        if ((await redis.get(artifactKeys.meta(prefix, stored.artifact_version))) !== null) {
          await activateArtifact(redis, prefix, stored.artifact_version);
          artifact = stored.artifact_version;
        } else {
          console.error(
            `artifact v${stored.artifact_version} of model ${v} was pruned; serving keeps the current artifact`,
          );
        }
      } finally {
        await redis.close();
      }
    }
    return { activated: v, artifact_version: artifact };
  });
}

export async function listCommand(env: Env) {
  return withStores(env, ({ db }) => listModels(db));
}

/** Registers an ONNX file trained elsewhere, after checking it loads and answers the ranker signature. */
export async function registerCommand(
  env: Env,
  file: string,
  opts: { artifactVersion?: string; activate?: boolean },
) {
  const onnx = new Uint8Array(await readFile(file));
  // Loads and probes it with a batch of the documented shape: a file that would fail in serving fails here.
  await loadRanker(0, onnx, null);
  return withStores(env, async ({ db }) => {
    const version = await registerModel(
      db,
      {
        onnx,
        source: `register ${file}`,
        signature: RANKER_SIGNATURE,
        artifactVersion: opts.artifactVersion ? Number(opts.artifactVersion) : null,
      },
      cliActor(),
    );
    if (opts.activate) await activateModel(db, version, cliActor());
    return { version, activated: opts.activate ?? false };
  });
}

function gateList(metrics: Record<string, unknown>): unknown {
  return (metrics.gate as { list?: unknown } | undefined)?.list;
}

function positiveInteger(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${flag} must be a positive integer, got "${raw}"`);
  return value;
}
