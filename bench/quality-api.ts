import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "commander";
import { createTestDatabase, stackEnv, uniqueName } from "../core/testing/stack.ts";
import { REPO_ROOT } from "../core/runtime/local-env.ts";
import { deterministicUuid } from "../ingest/import/rows-to-events.ts";
import { loadRatingsCsv } from "../serving/eval/ratings.ts";
import { splitPerUser, splitPerUserTemporal } from "../serving/eval/split.ts";
import { meanMetrics, userMetrics, type RankingMetrics } from "../serving/eval/metrics.ts";
import {
  DEFAULT_SEED,
  RECKON_MODEL,
  RECKON_TRAIN_OPTIONS,
  evaluateArtifact,
} from "../serving/eval/run-eval.ts";
import { buildInteractionMatrix, type Interaction } from "../serving/recommender/interactions.ts";
import { trainModel } from "../serving/recommender/models/index.ts";
import { DEFAULT_DATASET_DIR, machine, startServer, waitForProjections } from "./support.ts";

/**
 * `npm run bench -- quality`: recommendation quality on data Reckon has never seen, through the public API.
 * The training part of a ratings file is sent as events (POST /v1/events, admin backfill), the projections are
 * awaited (/v1/status), `reckon train --activate` recomputes the batch model and ranker from the log, then every
 * test user's recommendations come from GET /v1/recommendations. Same split and metrics as `reckon eval`, whose
 * in-memory figures on the same split are printed beside them.
 */
export async function runQualityApiBench(
  options: { ratings?: string; k?: number; protocol?: "random" | "temporal" } = {},
) {
  const ratingsPath = options.ratings ?? path.join(DEFAULT_DATASET_DIR, "ratings.csv");
  const k = options.k ?? 10;
  const protocol = options.protocol ?? "random";
  const ratings = await loadRatingsCsv(ratingsPath);
  const { train, test } =
    protocol === "random" ? splitPerUser(ratings, { seed: DEFAULT_SEED }) : splitPerUserTemporal(ratings);

  const db = await createTestDatabase();
  const adminKey = "quality-admin-key-0123456789";
  const prefix = uniqueName("quality");
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    KAFKA_BROKERS: stackEnv().KAFKA_BROKERS.join(","),
    REDIS_URL: stackEnv().REDIS_URL,
    KAFKA_EVENTS_TOPIC: `${prefix}.events`,
    KAFKA_DLQ_TOPIC: `${prefix}.dlq`,
    RECKON_ADMIN_KEYS: adminKey,
    RECKON_REDIS_PREFIX: prefix,
    RECKON_PROJECTOR_GROUP_PREFIX: prefix,
    RECKON_TRAIN_INTERVAL_MINUTES: "0",
    CLICKHOUSE_URL: `chdb://${mkdtempSync(path.join(os.tmpdir(), "reckon-quality-ch-"))}`,
    CLICKHOUSE_HTTP_PORT: "0",
  };
  const server = await startServer("ingest,relay,projectors,serving", env);
  const auth = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  try {
    const ingestStarted = performance.now();
    await sendEvents(server.url, auth, train);
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;
    const projectedSeconds = await waitForProjections(server.url, auth);

    const trainStarted = performance.now();
    const trainOutput = execFileSync(
      process.execPath,
      // QUALITY_RANKER=heuristic: publish the batch model but keep the documented heuristic ranking (comparisons).
      [
        "--import",
        "tsx",
        path.join(REPO_ROOT, "bin/reckon.ts"),
        "train",
        ...(process.env.QUALITY_RANKER === "heuristic" ? [] : ["--activate"]),
      ],
      {
        env: { ...process.env, ...env, LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const trained = JSON.parse(trainOutput.toString()) as { activated: boolean; activation?: string };
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    await new Promise((r) => setTimeout(r, 3000)); // serving polls the registry every 2 s for a new model

    const relevant = new Map<string, Set<string>>();
    for (const t of test) {
      let set = relevant.get(t.userId);
      if (!set) relevant.set(t.userId, (set = new Set()));
      set.add(t.itemId);
    }
    if (process.env.QUALITY_KEEP_SERVER) {
      // Debugging aid: leave the server up and print how to reach it.
      console.error(JSON.stringify({ url: server.url, adminKey, prefix, database: db.url }));
      await new Promise((r) => setTimeout(r, Number(process.env.QUALITY_KEEP_SERVER) * 1000));
    }
    const perUser: RankingMetrics[] = [];
    let modelVersion: unknown = null;
    for (const [userId, items] of relevant) {
      const res = await fetch(`${server.url}/v1/recommendations/${encodeURIComponent(userId)}?n=${k}`, {
        headers: auth,
      });
      if (!res.ok) throw new Error(`GET recommendations for ${userId}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { items: { item_id: string }[]; model_version: unknown };
      modelVersion = body.model_version;
      perUser.push(
        userMetrics(
          body.items.map((i) => i.item_id),
          items,
          k,
        ),
      );
    }
    const offline = await evaluateArtifact(
      trainModel(RECKON_MODEL, buildInteractionMatrix(train), RECKON_TRAIN_OPTIONS),
      train,
      test,
      k,
    );
    return {
      bench: "quality",
      machine: machine(),
      data: {
        file: path.basename(ratingsPath),
        train: train.length,
        test: test.length,
        users: relevant.size,
      },
      protocol:
        protocol === "random"
          ? `per-user random 75/25 split, seed ${DEFAULT_SEED}, top-${k}, training items excluded`
          : `per-user temporal split (each user's latest 25% held out), top-${k}, training items excluded`,
      through_api: {
        ...round(meanMetrics(perUser)),
        model_version: modelVersion,
        ranker_activated: trained.activated,
        ranker_gate: trained.activation ?? null,
      },
      offline_same_split: round(offline.metrics),
      seconds: {
        ingest: round1(ingestSeconds),
        projections_caught_up: round1(projectedSeconds),
        train: round1(trainSeconds),
      },
    };
  } finally {
    await server.stop();
    await db.drop();
  }
}

async function sendEvents(base: string, headers: Record<string, string>, rows: readonly Interaction[]) {
  const batches: Interaction[][] = [];
  for (let i = 0; i < rows.length; i += 500) batches.push(rows.slice(i, i + 500) as Interaction[]);
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const events = batch.map((r) => ({
        event_id: deterministicUuid(`${r.userId}:${r.itemId}:${r.timestamp}`),
        // The protocol treats every rating as an implicit interaction, so each is sent as a view.
        type: "view",
        user_id: r.userId,
        item_id: r.itemId,
        timestamp: new Date(r.timestamp * 1000).toISOString(),
      }));
      const res = await fetch(`${base}/v1/events?backfill=true`, {
        method: "POST",
        headers,
        body: JSON.stringify({ events }),
      });
      const body = (await res.json()) as { rejected: number };
      if (!res.ok || body.rejected > 0)
        throw new Error(`ingest refused a batch: ${res.status} ${JSON.stringify(body)}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

const round = <T extends object>(m: T) =>
  Object.fromEntries(
    Object.entries(m).map(([key, v]) => [key, typeof v === "number" ? Number(v.toFixed(4)) : v]),
  );
const round1 = (v: number) => Number(v.toFixed(1));

if (import.meta.url === `file://${process.argv[1]}`) {
  const program = new Command("quality-api")
    .option("--ratings <file>", "ratings CSV (userId,movieId,rating,timestamp)")
    .action(async (opts: { ratings?: string }) => {
      console.log(JSON.stringify(await runQualityApiBench(opts), null, 2));
      process.exit(0);
    });
  await program.parseAsync();
}
