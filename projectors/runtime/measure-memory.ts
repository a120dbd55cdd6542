import { stackEnv } from "../../core/testing/stack.ts";
/** Measures Redis memory per active user (MEMORY USAGE over all keys of N synthetic users): npx tsx projectors/runtime/measure-memory.ts */
import { Redis } from "ioredis";
import { createFeaturesProjection } from "../features/projection.ts";
import { createRecommendationsProjection } from "../recommendations/projection.ts";
import { catalog, interaction } from "./testing.ts";
import { deleteKeys } from "./replay.ts";
const redis = new Redis(stackEnv().REDIS_URL);
const prefix = "rkmem" + Date.now();
const f = createFeaturesProjection(redis, { prefix });
const r = createRecommendationsProjection(redis, { prefix });
const N = 1000,
  PER = 50;
const msgs: ReturnType<typeof interaction>[] = [];
for (let i = 0; i < 2000; i++) msgs.push(catalog(`item${i}`, [`cat${i % 20}`, `cat${(i * 7) % 20}`], 1));
const types = ["view", "click", "purchase", "view", "add_to_cart"];
for (let u = 0; u < N; u++)
  for (let j = 0; j < PER; j++)
    msgs.push(
      interaction(
        `user${u}`,
        `item${(u * 31 + j * 17) % 2000}`,
        types[j % 5]!,
        new Date(Date.now() - (PER - j) * 60_000).toISOString(),
      ),
    );
for (let i = 0; i < msgs.length; i += 500) {
  const b = msgs.slice(i, i + 500);
  await f.applyMessages(b, "mem");
  await r.applyMessages(b, "mem");
}
let user = 0,
  userKeys = 0,
  other = 0;
for (const ns of ["f", "r"]) {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:${ns}:v1:*`, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      const m = (await redis.call("MEMORY", "USAGE", k, "SAMPLES", "0")) as number;
      if (k.includes("{u:")) {
        user += m;
        userKeys++;
      } else other += m;
    }
  } while (cursor !== "0");
}
console.log(
  JSON.stringify({
    users: N,
    eventsPerUser: PER,
    userKeys,
    bytesPerUser: Math.round(user / N),
    itemAndCategoryBytes: other,
  }),
);
await deleteKeys(redis, `${prefix}:*`);
redis.disconnect();
