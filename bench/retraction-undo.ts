/**
 * The live undo of many retractions of one user in one batch: the ops of every retraction computed one
 * retraction at a time, each replaying the user's log (coocUndoOps, userActivityUndoOps: the baseline), against
 * one pass over the log for all of them (coocUndoOpsOfRetractions, userActivityUndoOpsOfRetractions). Pure
 * computation on a generated log (runtime/synthetic-user-log.ts), the same log for both; the ops are checked
 * equal. Prints JSON: milliseconds per batch (best of the repetitions) and the ratio baseline / one pass.
 *
 *   npx tsx bench/retraction-undo.ts [--interactions 2000] [--retractions 200] [--items 300] [--repeat 3]
 */
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import type { LogMessage } from "../core/contracts/log-message.ts";
import { DEFAULT_FEATURES_CONFIG } from "../core/read-models/features-config.ts";
import { syntheticUserLog } from "../projectors/runtime/synthetic-user-log.ts";
import { DEFAULT_RECOMMENDATIONS_CONFIG } from "../projectors/recommendations/ops.ts";
import { coocUndoOps, coocUndoOpsOfRetractions } from "../projectors/recommendations/undo.ts";
import {
  userActivityUndoOps,
  userActivityUndoOpsOfRetractions,
} from "../projectors/features/user-activity.ts";

const { values } = parseArgs({
  options: {
    interactions: { type: "string", default: "2000" },
    retractions: { type: "string", default: "200" },
    items: { type: "string", default: "300" },
    repeat: { type: "string", default: "3" },
  },
});
const interactions = Number(values.interactions);
const retractionCount = Number(values.retractions);
const { log, retractions } = syntheticUserLog({
  interactions,
  retractions: retractionCount,
  items: Number(values.items),
  seed: 42,
});
const batch = new Set(retractions);
type Retraction = Extract<LogMessage, { kind: "retraction" }>;
const retractionMessages = log.filter((m): m is Retraction => m.kind === "retraction");

const best = <T>(run: () => T): { ms: number; result: T } => {
  let ms = Infinity;
  let result!: T;
  for (let i = 0; i < Number(values.repeat); i++) {
    const start = performance.now();
    result = run();
    ms = Math.min(ms, performance.now() - start);
  }
  return { ms, result };
};

const measure = <Op>(name: string, oneByOne: (r: Retraction) => Op[], onePass: () => Map<string, Op[]>) => {
  const baseline = best(() => new Map(retractionMessages.map((r) => [r.event.event_id, oneByOne(r)])));
  const pass = best(onePass);
  assert.deepEqual(pass.result, baseline.result, `${name}: the one pass gives the same ops`);
  return {
    projection: name,
    oneRetractionAtATimeMs: Math.round(baseline.ms * 10) / 10,
    onePassMs: Math.round(pass.ms * 10) / 10,
    ratio: Math.round((baseline.ms / pass.ms) * 10) / 10,
  };
};

const rec = DEFAULT_RECOMMENDATIONS_CONFIG;
const feat = DEFAULT_FEATURES_CONFIG;
console.log(
  JSON.stringify(
    {
      benchmark: "retraction-undo",
      interactions,
      retractions: retractionCount,
      items: Number(values.items),
      results: [
        measure(
          "recommendations",
          (r) => coocUndoOps(log, r, rec),
          () => coocUndoOpsOfRetractions(log, batch, rec),
        ),
        measure(
          "features",
          (r) => userActivityUndoOps(log, r, feat),
          () => userActivityUndoOpsOfRetractions(log, batch, feat),
        ),
      ],
    },
    null,
    2,
  ),
);
