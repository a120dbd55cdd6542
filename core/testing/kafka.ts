import type { Kafka } from "kafkajs";
import { uniqueName } from "./stack.ts";
import type { LogMessage } from "../contracts/log-message.ts";

export interface CollectedMessage {
  partition: number;
  offset: string;
  key: string;
  message: LogMessage;
}

/**
 * Reads a topic from the beginning with a throwaway consumer group and keeps every message, so a test can
 * wait for a set of events and then check order, loss and duplicates.
 */
export async function collectTopic(kafka: Kafka, topic: string) {
  const consumer = kafka.consumer({ groupId: uniqueName("test-collector"), maxWaitTimeInMs: 100 });
  const messages: CollectedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? "",
        message: JSON.parse(message.value!.toString()) as LogMessage,
      });
    },
  });
  return {
    messages,
    /** Resolves once every id has arrived; rejects after `timeoutMs` naming how many are missing. */
    async waitFor(eventIds: Iterable<string>, timeoutMs = 60_000): Promise<void> {
      const wanted = new Set(eventIds);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = new Set(messages.map((m) => m.message.event.event_id));
        const missing = [...wanted].filter((id) => !seen.has(id));
        if (missing.length === 0) return;
        if (Date.now() > deadline)
          throw new Error(`${missing.length} of ${wanted.size} events never reached Kafka`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => consumer.disconnect(),
  };
}
