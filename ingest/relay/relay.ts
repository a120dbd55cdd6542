import type { Kafka, Message, Producer } from "kafkajs";
import type { Database } from "../../core/postgres/database.ts";
import { createIdempotentProducer, ensureTopics } from "../../core/kafka/kafka.ts";
import type { LogMessage } from "../../core/contracts/log-message.ts";
import type { LogPosition } from "../../core/contracts/position.ts";
import { loadCheckpoint, storeCheckpoint } from "../../core/postgres/checkpoints.ts";
import { countLogAfter, readEncodedLogBatch } from "../../core/event-store/log-reader.ts";
import { EVENTS_CHANNEL } from "../../core/event-store/event-store.ts";
import { relayLag, relayPublished } from "../../core/metrics.ts";
import { logger } from "../../core/logger.ts";

export interface RelayOptions {
  db: Database;
  kafka: Kafka;
  topic: string;
  partitions: number;
  /** Checkpoint name; one per relayed topic. */
  name?: string;
  batchSize?: number;
  /** Poll interval when no NOTIFY arrives (also bounds the wait for a slow transaction to finish). */
  pollMs?: number;
}

/**
 * Publishes the Postgres event log to Kafka, in log order, at least once, and stores its position in Postgres
 * after Kafka has acknowledged (acks=all). Kafka being down stops only the relay: it retries with backoff and
 * catches up from its durable checkpoint, and ingest keeps accepting events meanwhile.
 */
export class Relay {
  private readonly name: string;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private producer: Producer | undefined;
  private topicsReady = false;
  private checkpoint: LogPosition | undefined;
  private wake: (() => void) | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private readonly log = logger.child({ component: "relay" });
  /** The topic's actual partition count (it may have been created with another count than `partitions`). */
  private topicPartitions = 1;

  constructor(private readonly options: RelayOptions) {
    this.name = options.name ?? `relay:${options.topic}`;
    this.batchSize = options.batchSize ?? 1000;
    this.pollMs = options.pollMs ?? 100;
  }

  /** The position up to which everything has been published (as of the last batch). */
  async position(): Promise<LogPosition> {
    return this.checkpoint ?? loadCheckpoint(this.options.db, this.name);
  }

  /** Publishes one batch; returns how many log entries it published. Throws when Kafka refuses. */
  async publishOnce(): Promise<number> {
    const { db, topic } = this.options;
    const from = this.checkpoint ?? (await loadCheckpoint(db, this.name));
    const batch = await readEncodedLogBatch(db, from, this.batchSize);
    if (batch.length === 0) {
      this.checkpoint = from;
      return 0;
    }
    const producer = await this.connectedProducer();
    const messages: Message[] = [];
    for (const m of batch) {
      // No record headers: the value carries the log position, the topic name the format's version, and headers
      // were 30 % of the relay's CPU (kafkajs encodes each one per record, and every consumer decodes them again).
      const message = { key: m.key, value: m.value };
      // A catalog change goes to every partition, in log order with each partition's interactions: a consumer
      // then never applies an interaction before the catalog entry the log had before it (category effects).
      // Projections apply catalog entries idempotently (by item version), so the copies change nothing more.
      if (m.kind === "catalog")
        for (let partition = 0; partition < this.topicPartitions; partition++)
          messages.push({ ...message, partition });
      else messages.push(message);
    }
    await producer.send({ topic, acks: -1, messages });
    const next = batch[batch.length - 1]!.position;
    if (!(await storeCheckpoint(db, this.name, from, next))) {
      // Another relay instance moved the checkpoint: take its position. What we sent is a duplicate, not a loss.
      this.log.warn("checkpoint moved by another relay; reloading");
      this.checkpoint = await loadCheckpoint(db, this.name);
    } else {
      this.checkpoint = next;
    }
    relayPublished.inc(batch.length);
    return batch.length;
  }

  /** Runs until `stop()`: publishes whenever the log grows, retries with backoff while Kafka is unavailable. */
  async start(): Promise<void> {
    this.unlisten = await this.options.db.listen(EVENTS_CHANNEL, () => this.wake?.());
    this.lagTimer = setInterval(() => void this.measureLag(), 2000);
    this.lagTimer.unref();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    clearInterval(this.lagTimer);
    await this.unlisten?.();
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
  }

  private async run(): Promise<void> {
    let backoffMs = 100;
    while (!this.stopping) {
      try {
        const published = await this.publishOnce();
        backoffMs = 100;
        if (published < this.batchSize) await this.sleep(this.pollMs);
      } catch (err) {
        this.log.warn(
          { err: (err as Error).message, retryInMs: backoffMs },
          "relay could not publish; retrying",
        );
        // A producer that saw the broker die is rebuilt: kafkajs does not always recover its idempotent state.
        await this.producer?.disconnect().catch(() => undefined);
        this.producer = undefined;
        this.checkpoint = undefined;
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  }

  private async connectedProducer(): Promise<Producer> {
    if (!this.topicsReady) {
      await ensureTopics(this.options.kafka, [
        { topic: this.options.topic, partitions: this.options.partitions },
      ]);
      this.topicPartitions = await partitionCount(this.options.kafka, this.options.topic);
      this.topicsReady = true;
    }
    if (!this.producer) {
      const producer = createIdempotentProducer(this.options.kafka);
      await producer.connect();
      this.producer = producer;
    }
    return this.producer;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async measureLag(): Promise<void> {
    try {
      relayLag.set(await countLogAfter(this.options.db, await this.position()));
    } catch {
      // Metrics are best effort; the next tick tries again.
    }
  }
}

async function partitionCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return Math.max(1, topics[0]?.partitions.length ?? 1);
  } finally {
    await admin.disconnect();
  }
}

export type { LogMessage };
