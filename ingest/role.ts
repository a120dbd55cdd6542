import { clockFromConfig, dateOf } from "../core/clock/clock.ts";
import type { Kafka } from "kafkajs";
import type { RoleModule } from "../core/runtime/role.ts";
import { eventsRouter } from "./http/events-router.ts";
import { itemsRouter } from "./http/items-router.ts";
import { Relay } from "./relay/relay.ts";
import { registerIngestOpenApi } from "./openapi.ts";
import { rulesRouter } from "./rules/router.ts";
import { registerRulesOpenApi } from "./rules/openapi.ts";
import { retractionsRouter } from "./retraction/router.ts";
import { registerRetractionOpenApi } from "./retraction/openapi.ts";
import { auditRouter, registerAuditOpenApi } from "../core/audit/audit-router.ts";

/** The write side's HTTP commands: events and catalog. */
export const ingestRole: RoleModule = {
  name: "ingest",
  description: "HTTP commands: events, catalog items, merchandising rules, retractions; the audit log",
  async start({ env, db, keys }) {
    // Business time (the accepted event-time window, rule and retraction times): the system clock, or a fixed one.
    // The catalog's updated_at stays on the system clock: serving's catalog cache polls changes by it.
    const now = dateOf(clockFromConfig(env));
    return {
      routers: [
        eventsRouter({
          db,
          keys,
          now,
          maxEventAgeMs: env.RECKON_MAX_EVENT_AGE_HOURS * 3_600_000,
          maxClockSkewMs: env.RECKON_MAX_CLOCK_SKEW_SECONDS * 1000,
        }),
        itemsRouter({ db, keys }),
        rulesRouter({ db, keys, now }),
        retractionsRouter({ db, keys, now }),
        auditRouter({ db, keys }),
      ],
      openapi: (registry) => {
        registerIngestOpenApi(registry);
        registerRulesOpenApi(registry);
        registerRetractionOpenApi(registry);
        registerAuditOpenApi(registry);
      },
      stop: async () => undefined,
    };
  },
};

/** The Postgres → Kafka relay. */
export const relayRole: RoleModule = {
  name: "relay",
  description: "publishes the Postgres event log to Kafka",
  async start({ env, db, kafka }) {
    const relay = new Relay({ db, kafka, topic: env.KAFKA_EVENTS_TOPIC, partitions: env.KAFKA_PARTITIONS });
    await relay.start();
    return {
      readiness: [{ name: "kafka", check: () => kafkaReachable(kafka) }],
      stop: () => relay.stop(),
    };
  },
};

async function kafkaReachable(kafka: Kafka): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    await admin.describeCluster();
  } finally {
    await admin.disconnect();
  }
}
