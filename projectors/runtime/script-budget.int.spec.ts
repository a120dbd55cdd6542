import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { stackEnv, uniqueName } from "../../core/testing/stack.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { projectorScriptSeconds } from "./metrics.ts";
import { deleteKeys } from "./replay.ts";
import { catalog, closeRedis, dumpVersion, interaction } from "./testing.ts";
import type { RedisProjection } from "./redis-projection.ts";

// Single Redis only: on a cluster the budget is off (its per-slot scripts are short; redis-projection.ts).
const redis = new Redis(stackEnv().REDIS_URL);
const prefixes: string[] = [];
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
  await closeRedis(redis);
});

const base = Date.now() - 3_600_000;
const at = (seconds: number) => new Date(base + seconds * 1000).toISOString();

/** 300 interactions of 12 users on 9 items (3 in the catalog), event times out of order, a catalog change inside. */
function messages(): LogMessage[] {
  const out: LogMessage[] = [catalog("i0", ["a"], 1), catalog("i1", ["a", "b"], 1), catalog("i2", ["c"], 1)];
  const types = ["view", "click", "purchase", "view"];
  for (let n = 0; n < 300; n++) {
    if (n === 150) out.push(catalog("i1", ["c"], 2)); // mid-batch: later fan-outs use the new categories
    out.push(interaction(`u${n % 12}`, `i${(n * 5) % 9}`, types[n % 4]!, at((n * 37) % 600)));
  }
  return out;
}

const scriptCalls = async (projector: string) =>
  (await projectorScriptSeconds.get()).values.find(
    (v) => v.metricName === "reckon_projector_redis_script_seconds_count" && v.labels.projector === projector,
  )?.value ?? 0;

for (const [name, create] of [
  ["features", createFeaturesProjection],
  ["recommendations", createRecommendationsProjection],
] as const) {
  test(`${name}: a batch split into script calls that fit a tiny budget ends in the one-call state`, async () => {
    const batch = messages();
    const make = (scriptBudgetMs: number): RedisProjection => {
      const prefix = uniqueName("rkbudget");
      prefixes.push(prefix);
      return create(redis, { prefix, scriptBudgetMs });
    };
    const whole = make(0);
    const before = await scriptCalls(name);
    await whole.applyMessages(batch, "src");
    assert.equal((await scriptCalls(name)) - before, 1, "budget 0: the batch is one script call");

    // 1 µs: the first two calls carry 100 events each (the second is prepared while the first runs, before
    // anything was measured), every later call the minimum, 16.
    const split = make(0.001);
    const mid = await scriptCalls(name);
    await split.applyMessages(batch, "src");
    assert.equal((await scriptCalls(name)) - mid, 2 + Math.ceil((batch.length - 200) / 16));

    const expected = await dumpVersion(redis, whole.prefix, whole.ns, 1);
    assert.ok(Object.keys(expected).length > 20, "the workload produced state");
    assert.deepEqual(await dumpVersion(redis, split.prefix, split.ns, 1), expected);
    // Redelivery of the whole batch changes nothing, split or not.
    await split.applyMessages(batch, "src");
    assert.deepEqual(await dumpVersion(redis, split.prefix, split.ns, 1), expected);
  });

  test(`${name}: killed between two script calls, the redelivered batch completes the state exactly`, async () => {
    const batch = messages();
    const whole = create(redis, { prefix: uniqueName("rkbudget"), scriptBudgetMs: 0 });
    const killed = create(redis, { prefix: uniqueName("rkbudget"), scriptBudgetMs: 0.001 });
    prefixes.push(whole.prefix, killed.prefix);
    await whole.applyMessages(batch, "src");
    // What the first calls of a split batch leave behind when the process dies before the next one: a prefix
    // of the batch applied, its last position stored (116 events: two calls of the tiny budget, 100 and 16).
    await killed.applyMessages(batch.slice(0, 116), "src");
    assert.notDeepEqual(
      await dumpVersion(redis, killed.prefix, killed.ns, 1),
      await dumpVersion(redis, whole.prefix, whole.ns, 1),
      "a prefix is not the whole",
    );
    await killed.applyMessages(batch, "src");
    assert.deepEqual(
      await dumpVersion(redis, killed.prefix, killed.ns, 1),
      await dumpVersion(redis, whole.prefix, whole.ns, 1),
    );
  });
}
