import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from "kafkajs";
import { createIdempotentProducer, ensureTopics } from "../kafka/kafka.ts";
import type { Queryable } from "../postgres/database.ts";
import { loadCheckpoint } from "../postgres/checkpoints.ts";
import {
  formatPositionToken,
  LOG_START,
  minLogPosition,
  parsePositionToken,
  type LogPosition,
} from "../contracts/position.ts";
import type {
  DeadLetter,
  LogSubscription,
  LogTransport,
  RunningSubscription,
  TransportBatch,
} from "./port.ts";

export interface KafkaLogTransportOptions {
  kafka: Kafka;
  /** The events topic the relay publishes to. */
  topic: string;
  /** The dead-letter topic (a transport that only reports positions, as status does, has none). */
  dlqTopic?: string;
  /** Partitions to create the topics with when they are missing (default 1). */
  partitions?: number;
  /** Postgres, for the relay's checkpoint (consumerPosition only). */
  db?: Queryable;
  /** The relay's checkpoint name (default `relay:<topic>`). */
  relayCheckpoint?: string;
}

/**
 * The Kafka adapter: one consumer group per subscription (the consumer's name), offsets committed with the
 * applied log position as their metadata, dead letters on the dead-letter topic with headers naming why and
 * where they came from.
 */
export class KafkaLogTransport implements LogTransport {
  readonly kind = "kafka";
  readonly topic: string;
  private topicsReady: Promise<void> | undefined;
  private producer: Promise<Producer> | undefined;
  private admin: Promise<Admin> | undefined;

  constructor(private readonly options: KafkaLogTransportOptions) {
    this.topic = options.topic;
  }

  async subscribe(subscription: LogSubscription): Promise<RunningSubscription> {
    await this.ensureTopics();
    const { kafka, topic } = this.options;
    const partitions = this.options.partitions ?? 1;
    const consumer = kafka.consumer({
      groupId: subscription.consumer,
      maxWaitTimeInMs: 50,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
    });
    consumer.on(consumer.events.GROUP_JOIN, () => subscription.onAssigned?.());
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: Math.max(1, partitions),
        eachBatch: (payload) => subscription.onBatch(batchOf(consumer, payload)),
      });
    } catch (err) {
      await consumer.disconnect().catch(() => undefined);
      throw err;
    }
    return { stop: () => consumer.disconnect().catch(() => undefined) };
  }

  async deadLetter(
    projector: string,
    topic: string,
    partition: number,
    dead: readonly DeadLetter[],
  ): Promise<void> {
    const { dlqTopic } = this.options;
    if (!dlqTopic) throw new Error("KafkaLogTransport: no dead-letter topic configured (dlqTopic)");
    const producer = await this.connectedProducer();
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: dead.map(({ record, reason }) => ({
        key: record.key,
        value: record.value,
        headers: {
          "reckon-dlq-reason": reason,
          "reckon-dlq-projector": projector,
          "reckon-dlq-source-topic": topic,
          "reckon-dlq-source-partition": String(partition),
          "reckon-dlq-source-offset": record.offset,
        },
      })),
    });
  }

  async committedPositions(consumer: string): Promise<Map<number, LogPosition>> {
    const { topic } = this.options;
    const groups = await this.withAdmin((admin) =>
      admin.fetchOffsets({ groupId: consumer, topics: [topic] }),
    );
    const positions = new Map<number, LogPosition>();
    for (const { partition, metadata } of groups.find((g) => g.topic === topic)?.partitions ?? []) {
      const position = metadata ? parsePositionToken(metadata) : undefined;
      if (position) positions.set(partition, position);
    }
    return positions;
  }

  async partitions(): Promise<number[]> {
    return this.withAdmin(async (admin) =>
      (await admin.fetchTopicOffsets(this.options.topic)).map((p) => p.partition),
    );
  }

  /**
   * An idle partition never moves its applied position, so "min over partitions of the applied position" would
   * stall at the last event an idle partition saw. Instead: read the relay's checkpoint R first (everything up to
   * R is in Kafka), then each partition's high watermark. A partition whose committed offset reached its high
   * watermark has given the consumer everything up to R; any other partition has given it everything up to its
   * applied position. The consumer's position is the minimum of R and those applied positions.
   */
  async consumerPosition(
    consumer: string,
    applied: (partition: number) => Promise<LogPosition | undefined>,
  ): Promise<LogPosition> {
    const { db, topic } = this.options;
    if (!db)
      throw new Error("KafkaLogTransport.consumerPosition needs the database (the relay's checkpoint)");
    const relayed = await loadCheckpoint(db, this.options.relayCheckpoint ?? `relay:${topic}`);
    const { highs, committed } = await this.withAdmin(async (admin) => {
      const highs = await admin.fetchTopicOffsets(topic);
      const groups = await admin.fetchOffsets({ groupId: consumer, topics: [topic] });
      const committed = new Map(
        (groups.find((g) => g.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
      );
      return { highs, committed };
    });
    let position = relayed;
    for (const { partition, high, low } of highs) {
      const end = BigInt(high);
      if (end === BigInt(low) || (committed.get(partition) ?? -1n) >= end) continue;
      position = minLogPosition(position, (await applied(partition)) ?? LOG_START);
    }
    return position;
  }

  async close(): Promise<void> {
    const producer = this.producer;
    const admin = this.admin;
    this.producer = undefined;
    this.admin = undefined;
    this.topicsReady = undefined;
    await producer?.then((p) => p.disconnect()).catch(() => undefined);
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  private ensureTopics(): Promise<void> {
    const { kafka, topic, dlqTopic } = this.options;
    const partitions = this.options.partitions ?? 1;
    const topics = [{ topic, partitions }, ...(dlqTopic ? [{ topic: dlqTopic, partitions }] : [])];
    this.topicsReady ??= ensureTopics(kafka, topics).catch((err: unknown) => {
      this.topicsReady = undefined;
      throw err;
    });
    return this.topicsReady;
  }

  private connectedProducer(): Promise<Producer> {
    this.producer ??= (async () => {
      await this.ensureTopics();
      const producer = createIdempotentProducer(this.options.kafka);
      await producer.connect();
      return producer;
    })().catch((err: unknown) => {
      this.producer = undefined;
      throw err;
    });
    return this.producer;
  }

  private async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    this.admin ??= (async () => {
      const admin = this.options.kafka.admin();
      await admin.connect();
      return admin;
    })();
    const current = this.admin;
    try {
      return await work(await current);
    } catch (err) {
      // A broken admin client is rebuilt on the next call.
      if (this.admin === current) this.admin = undefined;
      await current.then((a) => a.disconnect()).catch(() => undefined);
      throw err;
    }
  }
}

function batchOf(consumer: Consumer, payload: EachBatchPayload): TransportBatch {
  const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
  return {
    topic: batch.topic,
    partition: batch.partition,
    records: batch.messages,
    active: () => isRunning() && !isStale(),
    keepAlive: () => heartbeat().catch(() => undefined),
    async commit(offset, applied) {
      await consumer.commitOffsets([
        {
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(offset) + 1n).toString(),
          ...(applied ? { metadata: formatPositionToken(applied) } : {}),
        },
      ]);
      resolveOffset(offset);
      await heartbeat();
    },
  };
}
