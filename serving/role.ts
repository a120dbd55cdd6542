import { clockFromConfig, dateOf } from "../core/clock/clock.ts";
import { ExperimentVariants } from "./experiments/variants.ts";
import type { RoleModule } from "../core/runtime/role.ts";
import { FeaturesReader } from "../projectors/features/read.ts";
import { featuresConfig } from "../core/read-models/features-config.ts";
import { RecommendationsReader } from "../projectors/recommendations/read.ts";
import { ArtifactReader } from "./models/artifact-store.ts";
import { ModelHolder } from "./models/model-holder.ts";
import { servingConfig } from "./ranking/config.ts";
import { RedisReadModel } from "./ranking/redis-read-model.ts";
import { servingRouter } from "./http/router.ts";
import { userFeaturesAsOf } from "../projectors/features/as-of.ts";
import { startRetrainSchedule, type RetrainMetrics } from "./models/retrain-schedule.ts";
import { trainAndRegister } from "./models/train.ts";
import { recordAudit } from "../core/audit/audit-log.ts";
import { activateModel } from "./models/registry.ts";
import { registerServingOpenApi } from "./http/openapi.ts";
import { assertHealthy } from "../projectors/store/open.ts";
import { catalogReadModelPositions, ItemDetailReader, SearchReader } from "../projectors/search/read.ts";
import { searchRouter } from "./search/router.ts";
import { registerSearchOpenApi } from "./search/openapi.ts";
import { StoredRules } from "./ranking/rules-stored.ts";
import { appendRecommendationsServed } from "../core/event-store/event-store.ts";
import { RecommendationLog } from "./http/recommendation-log.ts";
import { logger } from "../core/logger.ts";

/** The serving role: the read API over the Redis read models, ranked by the active registry model. */
export const servingRole: RoleModule = {
  name: "serving",
  description: "GET /v1/recommendations, /v1/items/:id/similar, /v1/users/:id/features (ONNX ranking)",
  async start(resources) {
    const { env, db, keys } = resources;
    // Any projection store (a single Redis, a Redis Cluster, in process): every read and write below names one
    // key (or one slot) per command.
    const store = await resources.projectionStore();
    const prefix = env.RECKON_REDIS_PREFIX;
    const config = servingConfig(env);
    // Business time (decay, rule windows, served-at): the system clock, or a fixed one for reproducible runs.
    const clock = clockFromConfig(env);
    const features = new FeaturesReader(store, prefix, featuresConfig(env), undefined, clock);
    const readModel = new RedisReadModel({
      features,
      recommendations: new RecommendationsReader(store, prefix),
      artifacts: new ArtifactReader(store, prefix),
      cacheMs: config.cacheMs,
      catalogCacheMs: config.catalogCacheMs,
      userListCacheEntries: config.userListCacheEntries,
    });
    const models = new ModelHolder({ db, pollMs: env.RECKON_MODEL_POLL_MS });
    await models.start();
    // The stored merchandising rules, held in memory: reloaded on NOTIFY (and a poll), never read per request.
    const rules = new StoredRules({ db, pollMs: config.rulesPollMs });
    await rules.start();
    // Its own positions reader (the projectors may run in another process): applied positions live in the store.
    const positions = await resources.openReadModelPositions();
    // The batch artifact and the ranker are recomputed from the log periodically (RECKON_TRAIN_INTERVAL_MINUTES,
    // 0 = only on demand with `reckon train`); a new ranker is activated only when it evaluates better.
    // With several serving workers (`--workers`), only worker 0 retrains: the others read what it publishes.
    const intervalMinutes = env.RECKON_WORKER_INDEX === 0 ? env.RECKON_TRAIN_INTERVAL_MINUTES : 0;
    const stopRetraining =
      intervalMinutes > 0
        ? startRetrainSchedule({
            intervalMs: intervalMinutes * 60_000,
            train: async () => {
              const report = await trainAndRegister({
                db,
                redis: store,
                prefix,
                activate: false,
                historySeeds: config.historySeeds,
                actor: "system:retrain-schedule",
              });
              // trainAndRegister's report carries the list-quality gate's verdict (see list-gate.ts).
              return { version: report.version, metrics: report.metrics as unknown as RetrainMetrics };
            },
            activate: (version) => activateModel(db, version, "system:retrain-schedule"),
            // The gate's verdict on every retrained version (activateModel records the activation itself).
            audit: (version, activated, reason) =>
              recordAudit(db, {
                actor: "system:retrain-schedule",
                action: "model.gate",
                target: String(version),
                outcome: activated ? "ok" : "refused",
                details: { reason },
              }),
          })
        : undefined;
    // Search and item detail read their own Postgres read models; min_position waits on those projections.
    const catalogPositions = catalogReadModelPositions({
      db,
      transport: resources.logTransport(),
      groupPrefix: env.RECKON_PROJECTOR_GROUP_PREFIX,
      features: featuresConfig(env),
    });
    // Every answer is recorded in the event log for attribution, in batches (no write per request).
    const recommendationLog = new RecommendationLog({
      write: (records) => appendRecommendationsServed(db, records),
      flushMs: env.RECKON_RECOMMENDATION_LOG_FLUSH_MS,
      maxBuffered: env.RECKON_RECOMMENDATION_LOG_MAX_BUFFERED,
    });
    return {
      routers: [
        searchRouter({
          readModel,
          features,
          ranker: () => models.current(),
          config,
          keys,
          search: new SearchReader(db),
          details: new ItemDetailReader(db, featuresConfig(env)),
          facetable: env.RECKON_SEARCH_FACETS,
          clock,
          waitForPosition: (token, timeoutMs) => catalogPositions.waitForPosition(token, timeoutMs),
        }),
        servingRouter({
          readModel,
          features,
          ranker: () => models.current(),
          config,
          rules,
          clock,
          keys,
          experiments: new ExperimentVariants({ db, now: dateOf(clock) }),
          featuresAsOf: (userId, asOf) => userFeaturesAsOf(db, userId, asOf, featuresConfig(env)),
          waitForPosition: (token, timeoutMs) => positions.waitForPosition(token, timeoutMs),
          recommendationLog,
        }),
      ],
      openapi: (registry) => {
        registerServingOpenApi(registry);
        registerSearchOpenApi(registry);
      },
      readiness: [{ name: "redis", check: () => assertHealthy(store) }],
      async stop() {
        await stopRetraining?.();
        // Whatever the log still refuses after the retries is reported, not allowed to block shutdown.
        await recommendationLog.stop().catch((err: unknown) => {
          logger.error({ err }, "served recommendations not recorded at shutdown");
        });
        await models.stop();
        await rules.stop();
        await positions.close();
        await catalogPositions.close();
      },
    };
  },
};
