import { Kafka, logLevel, Partitioners, type ITopicConfig, type Producer } from "kafkajs";
import { logger } from "../logger.ts";

/**
 * Kafka access. kafkajs speaks the protocol versions the shipped broker accepts (see deploy/README.md); all
 * Kafka use goes through this module so a different client can be swapped in one place.
 */
export function createKafka(brokers: readonly string[], clientId = "reckon"): Kafka {
  const log = logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (message === DELIBERATE_RETRY_LIMIT_WARNING) return;
        if (level <= logLevel.ERROR) log.error(rest, message);
        else log.warn(rest, message);
      },
  });
}

/**
 * kafkajs warns at every idempotent producer's creation unless its retries are unbounded. Ours are bounded on
 * purpose: a send that keeps failing must surface, so the relay rebuilds the producer and resends from its
 * checkpoint (projections skip what they already applied, by log position). The warning says nothing new.
 */
const DELIBERATE_RETRY_LIMIT_WARNING =
  "Limiting retries for the idempotent producer may invalidate EoS guarantees";

/** An idempotent producer with acks=all semantics: per-partition order and no duplicates from retries. */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
}

/**
 * Creates missing topics; existing ones are left as they are. Retries retriable broker errors: a broker that has
 * just started answers "does not host this topic-partition" for a moment while it loads its metadata.
 */
export async function ensureTopics(kafka: Kafka, specs: readonly TopicSpec[], attempts = 10): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createMissingTopics(kafka, specs);
    } catch (err) {
      const retriable = (err as { retriable?: boolean }).retriable === true;
      if (!retriable || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function createMissingTopics(kafka: Kafka, specs: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing: ITopicConfig[] = specs
      .filter((s) => !existing.has(s.topic))
      .map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor ?? 1,
      }));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
