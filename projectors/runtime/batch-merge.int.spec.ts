import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import { uniqueName } from "../../core/testing/stack.ts";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import type { Op } from "./redis-batch.ts";
import { deleteKeys } from "./replay.ts";
import { applyOpsBatch, catalog, closeRedis, dumpVersion, interaction, REDIS_BACKENDS } from "./testing.ts";

/** Catalog changes in the middle of interactions with the same items, repeated users, items and types. */
function workload(): LogMessage[] {
  const out: LogMessage[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < 600; i++) {
    if (i % 40 === 0) out.push(catalog(`i${i % 13}`, [`c${i % 3}`, `c${(i + 1) % 4}`], i));
    else
      out.push(
        interaction(
          `u${i % 29}`,
          `i${i % 13}`,
          ["view", "click", "purchase"][i % 3]!,
          new Date(start + ((i * 7919) % 600) * 60_000).toISOString(),
        ),
      );
  }
  return out;
}

const makers = { features: createFeaturesProjection, recommendations: createRecommendationsProjection };

// On a Redis Cluster the same properties hold for the per-slot path (cluster-batch.ts), which merges per slot.
for (const backend of REDIS_BACKENDS) {
  describe(backend.name, () => {
    const redis = backend.open();
    const prefixes: string[] = [];
    after(async () => {
      for (const p of prefixes) await deleteKeys(redis, `${p}:*`);
      await closeRedis(redis);
    });

    describe("merged batches", () => {
      for (const [name, make] of Object.entries(makers)) {
        test(`${name}: one merged batch stores what message-by-message batches store`, async () => {
          const messages = workload();
          const one = make(redis, { prefix: uniqueName("merge-one") });
          const each = make(redis, { prefix: uniqueName("merge-each") });
          prefixes.push(one.prefix, each.prefix);
          await one.applyMessages(messages, "src");
          for (const m of messages) await each.applyMessages([m], "src");
          assert.deepEqual(
            await dumpVersion(redis, one.prefix, one.ns, 1),
            await dumpVersion(redis, each.prefix, each.ns, 1),
          );
        });

        test(`${name}: a redelivery overlapping applied messages applies only the rest`, async () => {
          const messages = workload();
          const once = make(redis, { prefix: uniqueName("overlap-once") });
          const overlapping = make(redis, { prefix: uniqueName("overlap") });
          prefixes.push(once.prefix, overlapping.prefix);
          await once.applyMessages(messages, "src");
          await overlapping.applyMessages(messages.slice(0, 300), "src");
          await overlapping.applyMessages(messages.slice(150, 600), "src");
          await overlapping.applyMessages(messages.slice(0, 450), "src");
          assert.deepEqual(
            await dumpVersion(redis, overlapping.prefix, overlapping.ns, 1),
            await dumpVersion(redis, once.prefix, once.ns, 1),
          );
        });
      }
    });

    describe("the packed op stream", () => {
      test("a field containing the stream's separator goes as arguments and is stored intact", async () => {
        // Validated ids and types cannot contain control characters; the fallback guards the encoding itself.
        const prefix = uniqueName("separator");
        prefixes.push(prefix);
        const target = { prefix, ns: "f", projection: `separator-${prefix}` };
        const ops: Op[] = [
          ["hincrby", "{u:sep}:p", "a\x1eb", "2"],
          ["hincrby", "{u:sep}:p", "plain", "1"],
        ];
        const result = await applyOpsBatch(redis, target, "src", [
          { position: { transactionId: 1n, position: 1 }, ops },
        ]);
        assert.equal(result.applied, 1);
        assert.deepEqual(await redis.hgetall(`${prefix}:f:v1:{u:sep}:p`), { "a\x1eb": "2", plain: "1" });
      });
    });
  });
}
