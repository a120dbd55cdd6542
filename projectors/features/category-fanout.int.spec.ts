import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { windowIncrement, windowIndex } from "../runtime/decay.ts";
import { versionBase } from "../../core/read-models/keys.ts";
import { catalog, interaction } from "../runtime/testing.ts";
import { PROJECTION_STORES, storeForSuite } from "../store/testing.ts";
import { DEFAULT_FEATURES_CONFIG as config } from "../../core/read-models/features-config.ts";
import { featureKeys } from "./ops.ts";
import { createFeaturesProjection } from "./projection.ts";

// Category names are catalog data: the fan-out must put them into keys and fields verbatim, including characters
// that mean something to a pattern substitution (`%`, `$` followed by a digit or by `c`).
const CATEGORIES = ["books", "50% off", "a $1 deal", "$c"];

for (const backend of PROJECTION_STORES) {
  describe(`features category fan-out (${backend.name})`, () => {
    const suite = storeForSuite(backend);
    after(() => suite.cleanUp());

    test("an interaction adds its decayed weight to each category of the item, as the catalog says at the time", async () => {
      const store = await suite.store();
      const projection = createFeaturesProjection(store, { prefix: suite.prefix("fanout") });
      const at = "2026-03-04T05:06:07.890Z";
      const t = Date.parse(at);
      await projection.applyMessages(
        [
          catalog("i1", CATEGORIES, 1),
          interaction("u1", "i1", "click", at),
          interaction("u2", "i1", "view", at),
          catalog("i1", ["later"], 2), // a later catalog change does not move what was counted
          interaction("u1", "i2", "view", at), // i2 is not in the catalog: no category effects
        ],
        "src",
      );
      const base = versionBase(projection.prefix, "f", 1);
      const click = config.typeWeights.click!;
      const affinity = await store.hgetall(
        base + featureKeys.userAffinity("u1", windowIndex(config.affinity, t)),
      );
      assert.deepEqual(
        affinity,
        Object.fromEntries(CATEGORIES.map((c) => [c, String(windowIncrement(config.affinity, t, click))])),
      );
      for (const h of [config.popularityShort, config.popularityLong]) {
        const both = windowIncrement(h, t, click) + windowIncrement(h, t, 1);
        for (const c of CATEGORIES) {
          const key = base + featureKeys.trending(c, h, windowIndex(h, t));
          assert.deepEqual(
            await store.zrevrangeWithScores(key, 0, -1),
            ["i1", String(both)],
            `${c} ${h.name}`,
          );
          assert.ok((await store.pttl(key)) > 0, `${key} expires`);
        }
        const later = base + featureKeys.trending("later", h, windowIndex(h, t));
        assert.equal(await store.type(later), "none");
      }
      const affinityKey = base + featureKeys.userAffinity("u1", windowIndex(config.affinity, t));
      const ttl = await store.pttl(affinityKey);
      assert.ok(ttl > 0 && ttl <= config.userTtlMs, `affinity ttl ${ttl}`);
    });
  });
}
