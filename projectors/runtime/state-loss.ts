import type { LogMessage } from "../../core/contracts/log-message.ts";
import { compareLogPositions, maxLogPosition, type LogPosition } from "../../core/contracts/position.ts";
import type { LogTransport } from "../../core/log-transport/port.ts";
import { logger } from "../../core/logger.ts";
import { toLogPosition } from "../../core/event-store/log-reader.ts";
import type { Projection } from "./projection.ts";

/**
 * A read model's store that lost state: it holds an older log position for a partition (or none) than the one the
 * projection's consumer committed with its offset. Everything between was acknowledged by the store and is
 * gone, and the transport will not deliver it again, so only a rebuild from the log brings it back.
 */
export interface StateLoss {
  projection: string;
  topic: string;
  partition: number;
  /** What the store holds (undefined: nothing, e.g. flushed). */
  stored: LogPosition | undefined;
  /** What the consumer committed (the commit's metadata, see consumer.ts). */
  committed: LogPosition;
}

/**
 * The log position a committed chunk leaves in the store: its last message that was applied or dropped (both
 * advance the store's position). Rejected and dead-lettered messages are left out, since the store never saw them.
 */
export function lastAppliedPosition(
  messages: readonly { message: LogMessage }[],
  outcomes: readonly { kind: string }[],
): LogPosition | undefined {
  for (let i = Math.min(messages.length, outcomes.length) - 1; i >= 0; i--) {
    const kind = outcomes[i]!.kind;
    if (kind === "ok" || kind === "drop") return toLogPosition(messages[i]!.message);
  }
  return undefined;
}

/** Whether the store's position shows a loss against the committed one. */
export const isStateLost = (stored: LogPosition | undefined, committed: LogPosition | undefined) =>
  committed !== undefined && (stored === undefined || compareLogPositions(stored, committed) < 0);

export interface StateLossDetectorOptions {
  transport: LogTransport;
  groupOf(projection: string): string;
  onLoss(loss: StateLoss): void;
}

/**
 * Compares a projection's stored position with its consumer's committed one before a batch is applied. A store
 * that can lose state while the process runs (`Projection.volatileStore`, e.g. Redis) is checked before every batch
 * (one read of its applied position); any other store once per partition after each group join, which catches a
 * store that came back empty or old while the process was down. Committed positions are read from the group's
 * offsets once per join, then followed in memory as this process commits.
 */
export class StateLossDetector {
  /** projection → "topic:partition" → committed position. */
  private readonly committedPositions = new Map<string, Map<string, LogPosition>>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly checkedSinceJoin = new Set<string>();
  private readonly log = logger.child({ component: "projectors" });

  constructor(private readonly options: StateLossDetectorOptions) {}

  /** A new group generation: partitions may come from another member, so committed positions are read again. */
  forget(projection: string): void {
    this.committedPositions.delete(projection);
    this.loading.delete(projection);
    for (const key of [...this.checkedSinceJoin])
      if (key.startsWith(`${projection}|`)) this.checkedSinceJoin.delete(key);
  }

  /** Records what this process just committed for a partition. */
  committed(projection: string, topic: string, partition: number, position: LogPosition): void {
    const positions = this.positionsOf(projection);
    const key = `${topic}:${partition}`;
    const known = positions.get(key);
    positions.set(key, known ? maxLogPosition(known, position) : position);
  }

  async check(projection: Projection, topic: string, partition: number): Promise<void> {
    const checkKey = `${projection.name}|${topic}:${partition}`;
    if (!projection.volatileStore && this.checkedSinceJoin.has(checkKey)) return;
    const committed = await this.committedPosition(projection.name, topic, partition);
    this.checkedSinceJoin.add(checkKey);
    if (committed === undefined) return;
    const stored = await projection.appliedPosition(topic, partition);
    if (isStateLost(stored, committed))
      this.options.onLoss({ projection: projection.name, topic, partition, stored, committed });
  }

  /**
   * Checks every partition the projection's consumer has committed on, without waiting for a batch: after a
   * join, a store that came back empty or old while the process was down is found even when no new event
   * arrives (an idle log would otherwise leave readers on the emptied read model until the next event).
   */
  async checkCommitted(projection: Projection): Promise<void> {
    const { topic } = this.options.transport;
    await this.committedPosition(projection.name, topic, 0); // loads every partition's committed position
    const partitions = [...this.positionsOf(projection.name).keys()]
      .filter((key) => key.startsWith(`${topic}:`))
      .map((key) => Number(key.slice(topic.length + 1)));
    for (const partition of partitions) await this.check(projection, topic, partition);
  }

  private positionsOf(projection: string): Map<string, LogPosition> {
    let positions = this.committedPositions.get(projection);
    if (!positions) this.committedPositions.set(projection, (positions = new Map()));
    return positions;
  }

  private async committedPosition(
    projection: string,
    topic: string,
    partition: number,
  ): Promise<LogPosition | undefined> {
    let loading = this.loading.get(projection);
    if (!loading) {
      loading = this.loadCommitted(projection, topic);
      this.loading.set(projection, loading);
    }
    await loading;
    return this.committedPositions.get(projection)?.get(`${topic}:${partition}`);
  }

  /** Reads the consumer's committed positions; a failure skips the check (it is retried after the next join). */
  private async loadCommitted(projection: string, topic: string): Promise<void> {
    try {
      const { transport } = this.options;
      if (transport.topic !== topic) return;
      for (const [partition, position] of await transport.committedPositions(
        this.options.groupOf(projection),
      ))
        this.committed(projection, topic, partition, position);
    } catch (err) {
      this.log.warn(
        { projection, err: (err as Error).message },
        "committed positions not read; state check skipped",
      );
    }
  }
}
