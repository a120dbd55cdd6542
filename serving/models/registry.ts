import { recordAudit } from "../../core/audit/audit-log.ts";
import { createHash } from "node:crypto";
import type { Database, Queryable } from "../../core/postgres/database.ts";
import { FEATURE_NAMES } from "../ranking/features.ts";
import { ONNX_INPUT, ONNX_OUTPUT } from "./logistic.ts";

/** Postgres model registry (core/postgres/migrations/020_model_registry.sql). */

export const MODEL_ACTIVATED_CHANNEL = "reckon_model_activated";

export interface ModelSignature {
  input: { name: string; type: "float32"; shape: [string, number]; features: string[] };
  output: { name: string; type: "float32"; shape: [string, number] };
}

/** The only signature serving accepts today: see docs/guides/recommendations.md "Bringing your own ranker". */
export const RANKER_SIGNATURE: ModelSignature = {
  input: {
    name: ONNX_INPUT,
    type: "float32",
    shape: ["N", FEATURE_NAMES.length],
    features: [...FEATURE_NAMES],
  },
  output: { name: ONNX_OUTPUT, type: "float32", shape: ["N", 1] },
};

export interface ModelRecord {
  version: number;
  created_at: string;
  source: string;
  signature: ModelSignature;
  metrics: Record<string, unknown>;
  sha256: string;
  artifact_version: number | null;
  active: boolean;
}

export interface RegisterInput {
  onnx: Uint8Array;
  source: string;
  metrics?: Record<string, unknown>;
  signature?: ModelSignature;
  artifactVersion?: number | null;
}

/** Registers a model; the audit entry (`model.register`, by `actor`) is written in the same statement's transaction. */
export async function registerModel(db: Queryable, input: RegisterInput, actor: string): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    `INSERT INTO ranking_models (source, signature, metrics, onnx, sha256, artifact_version)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING version`,
    [
      input.source,
      JSON.stringify(input.signature ?? RANKER_SIGNATURE),
      JSON.stringify(input.metrics ?? {}),
      Buffer.from(input.onnx),
      createHash("sha256").update(input.onnx).digest("hex"),
      input.artifactVersion ?? null,
    ],
  );
  const version = rows[0]!.version;
  await recordAudit(db, {
    actor,
    action: "model.register",
    target: String(version),
    outcome: "ok",
    details: { source: input.source, artifact_version: input.artifactVersion ?? null },
  });
  return version;
}

/** Makes `version` the one serving uses (roll forward or back) and notifies listening servers. */
export async function activateModel(db: Database, version: number, actor: string): Promise<void> {
  const audit = { actor, action: "model.activate", target: String(version) };
  const registered = await db.transaction(async (tx) => {
    const found = await tx.query("SELECT 1 FROM ranking_models WHERE version = $1", [version]);
    if (found.rows.length === 0) return false;
    await tx.query(
      `INSERT INTO ranking_model_active (singleton, version, activated_at) VALUES (true, $1, now())
       ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, activated_at = now()`,
      [version],
    );
    await tx.query("INSERT INTO ranking_model_activations (version) VALUES ($1)", [version]);
    await tx.query("SELECT pg_notify($1, $2)", [MODEL_ACTIVATED_CHANNEL, String(version)]);
    await recordAudit(tx, { ...audit, outcome: "ok" });
    return true;
  });
  if (!registered) {
    await recordAudit(db, { ...audit, outcome: "refused", details: { reason: "not registered" } });
    throw new Error(`model version ${version} is not registered`);
  }
}

export async function activeVersion(db: Queryable): Promise<number | undefined> {
  const { rows } = await db.query<{ version: number }>("SELECT version FROM ranking_model_active");
  return rows[0]?.version;
}

export async function loadModel(
  db: Queryable,
  version: number,
): Promise<{ onnx: Uint8Array; signature: ModelSignature; artifact_version: number | null } | undefined> {
  const { rows } = await db.query<{
    onnx: Buffer;
    signature: ModelSignature;
    artifact_version: number | null;
  }>("SELECT onnx, signature, artifact_version FROM ranking_models WHERE version = $1", [version]);
  const row = rows[0];
  return (
    row && {
      onnx: new Uint8Array(row.onnx),
      signature: row.signature,
      artifact_version: row.artifact_version,
    }
  );
}

export async function listModels(db: Queryable): Promise<ModelRecord[]> {
  const { rows } = await db.query<Omit<ModelRecord, "created_at"> & { created_at: Date }>(
    `SELECT m.version, m.created_at, m.source, m.signature, m.metrics, m.sha256, m.artifact_version,
            (a.version IS NOT NULL) AS active
       FROM ranking_models m LEFT JOIN ranking_model_active a ON a.version = m.version
      ORDER BY m.version`,
  );
  return rows.map((r) => ({ ...r, created_at: r.created_at.toISOString() }));
}
