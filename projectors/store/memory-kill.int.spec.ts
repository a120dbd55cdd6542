import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { formatPositionToken } from "../../core/contracts/position.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { catalog, dumpVersion, interaction } from "../runtime/testing.ts";
import { MemoryProjectionStore } from "./memory-store.ts";

/**
 * The in-process store killed for real: a child process applies batches to a memory:// store and reports each
 * one once applyMessages resolved (acknowledged); it is SIGKILLed mid-stream. Reopened, the store holds exactly
 * a prefix of the batches, at least every acknowledged one, with the same state as a store that applied that
 * prefix and was never killed.
 */
const dir = mkdtempSync(path.join(tmpdir(), "reckon-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const START = Date.UTC(2026, 0, 1);
const BATCHES: LogMessage[][] = [];
for (let b = 0; b < 400; b++) {
  const batch: LogMessage[] = [];
  if (b % 10 === 0)
    batch.push(catalog(`i${b % 7}`, [`c${b % 3}`], b + 1, undefined, { updatedAt: new Date(START) }));
  for (let k = 0; k < 25; k++)
    batch.push(
      interaction(
        `u${(b + k) % 19}`,
        `i${(b * 3 + k) % 7}`,
        "view",
        new Date(START + k * 60_000).toISOString(),
      ),
    );
  BATCHES.push(batch);
}

const CHILD = `
import { readFileSync } from "node:fs";
const { MemoryProjectionStore } = await import(process.env.STORE_MODULE);
const { createFeaturesProjection } = await import(process.env.FEATURES_MODULE);
const { createRecommendationsProjection } = await import(process.env.RECS_MODULE);
const batches = JSON.parse(readFileSync(process.env.BATCHES_FILE, "utf8"));
const store = await MemoryProjectionStore.open({ dataDir: process.env.STORE_DIR, now: () => ${START} });
const features = createFeaturesProjection(store, { prefix: "k" });
const recs = createRecommendationsProjection(store, { prefix: "k" });
for (let b = 0; b < batches.length; b++) {
  await features.applyMessages(batches[b], "src");
  await recs.applyMessages(batches[b], "src");
  process.stdout.write("acked " + b + "\\n");
}
`;

const moduleUrl = (relative: string) => new URL(relative, import.meta.url).href;

test("a SIGKILL between batches loses nothing acknowledged and leaves a prefix of the batches", async () => {
  const batchesFile = path.join(dir, "batches.json");
  writeFileSync(batchesFile, JSON.stringify(BATCHES));
  const storeDir = path.join(dir, "store");
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], {
    env: {
      ...process.env,
      STORE_MODULE: moduleUrl("memory-store.ts"),
      FEATURES_MODULE: moduleUrl("../features/projection.ts"),
      RECS_MODULE: moduleUrl("../recommendations/projection.ts"),
      BATCHES_FILE: batchesFile,
      STORE_DIR: storeDir,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let acked = -1;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const m of chunk.matchAll(/acked (\d+)/g)) acked = Math.max(acked, Number(m[1]));
      if (acked >= 20) {
        child.kill("SIGKILL");
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`the child exited before it was killed (acked ${acked})`)));
  });
  await exited;
  assert.ok(acked >= 20 && acked < BATCHES.length - 1, `killed mid-stream (acked ${acked})`);

  const reopened = await MemoryProjectionStore.open({ dataDir: storeDir, now: () => START });
  const features = createFeaturesProjection(reopened, { prefix: "k" });
  const stored = await reopened.appliedPosition(features.target(), "src");
  const lastOf = (b: number) => formatPositionToken(toLogPosition(BATCHES[b]!.at(-1)!));
  const applied = BATCHES.findIndex(
    (_, b) => stored !== undefined && lastOf(b) === formatPositionToken(stored),
  );
  assert.ok(applied >= acked, `every acknowledged batch is there (stored up to ${applied}, acked ${acked})`);

  // Recommendations apply after features in each batch: they may be one batch behind at the kill.
  const recs = createRecommendationsProjection(reopened, { prefix: "k" });
  const recsStored = await reopened.appliedPosition(recs.target(), "src");
  const recsApplied = BATCHES.findIndex(
    (_, b) => recsStored !== undefined && lastOf(b) === formatPositionToken(recsStored),
  );
  assert.ok(recsApplied === applied || recsApplied === applied - 1, `recommendations at ${recsApplied}`);
  assert.ok(recsApplied >= acked, `every acknowledged batch is there (recommendations at ${recsApplied})`);

  const reference = await MemoryProjectionStore.open({ now: () => START });
  const referenceFeatures = createFeaturesProjection(reference, { prefix: "k" });
  const referenceRecs = createRecommendationsProjection(reference, { prefix: "k" });
  for (let b = 0; b <= applied; b++) {
    await referenceFeatures.applyMessages(BATCHES[b]!, "src");
    if (b <= recsApplied) await referenceRecs.applyMessages(BATCHES[b]!, "src");
  }
  assert.deepEqual(await dumpVersion(reopened, "k", "f", 1), await dumpVersion(reference, "k", "f", 1));
  assert.deepEqual(await dumpVersion(reopened, "k", "r", 1), await dumpVersion(reference, "k", "r", 1));
  await reopened.close();
  await reference.close();
});
