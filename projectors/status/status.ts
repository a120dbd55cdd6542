import type { Kafka } from "kafkajs";
import type { Queryable } from "../../core/postgres/database.ts";
import { countLogAfter, readLogHead } from "../../core/event-store/log-reader.ts";
import type { LogTransport } from "../../core/log-transport/port.ts";
import { KafkaLogTransport } from "../../core/log-transport/kafka-transport.ts";
import {
  compareLogPositions,
  formatPositionToken,
  parsePositionToken,
  POSITION_TOKEN_RULE,
  type LogPosition,
} from "../../core/contracts/position.ts";
import { logHeadPosition, projectorLag, projectorPosition } from "../../core/metrics.ts";
import type { Projection } from "../runtime/projection.ts";
import { consumerGroup } from "../runtime/consumer.ts";
import type { ReadModelHealth } from "../runtime/self-rebuild.ts";
import type { PinnedVersion } from "../runtime/version-pin.ts";

export type StatusOptions = CommonStatusOptions &
  (
    | {
        /** Where the projectors read the log (core/log-transport); the caller owns it and closes it. */
        transport: LogTransport;
        kafka?: undefined;
      }
    | {
        transport?: undefined;
        /** The Kafka transport's positions, when no transport is handed over. */
        kafka: Kafka;
        topic: string;
        /** The relay's checkpoint name (default `relay:<topic>`). */
        relayCheckpoint?: string;
      }
  );

interface CommonStatusOptions {
  db: Queryable;
  projections: readonly Pick<Projection, "name" | "appliedPosition" | "pinnedVersion">[];
  groupPrefix?: string;
  /** Whether each projection's read model is intact or rebuilding after a loss (the projectors role knows). */
  readModelHealth?: (projection: string) => ReadModelHealth;
}

export interface ProjectorStatus {
  name: string;
  position: string;
  lag: number;
  read_model?: ReadModelHealth;
  /**
   * Present while readers are pinned to a past checkpoint (`reckon switch --version`): its version, the
   * position it was built up to, and how many log entries readers do not see. `position` and `lag` above stay
   * the live version's, which the live consumer keeps writing.
   */
  pinned?: { version: number; position: string; lag: number };
}

export interface StatusReport {
  head: string;
  projectors: ProjectorStatus[];
}

/** A `min_position` that is not a position token: serving answers 400 naming the field. */
export class PositionTokenError extends Error {
  readonly status = 400;
  readonly field = "min_position";
  constructor(readonly received: string) {
    super(`min_position ${POSITION_TOKEN_RULE}`);
    this.name = "PositionTokenError";
  }
}

export const MAX_WAIT_MS = 5000;

/**
 * Where each projector stands in the log: the transport knows which of its partitions count (an idle partition
 * never moves its applied position; see each adapter's consumerPosition) and the projection's store knows what
 * it applied.
 */
export class ProjectionStatus {
  private readonly transport: LogTransport;
  private readonly ownsTransport: boolean;
  private readonly byName: Map<string, Pick<Projection, "name" | "appliedPosition" | "pinnedVersion">>;
  /** Each projection's pin, asked at most every half second by read-your-writes waits. */
  private readonly pins = new Map<string, { value: Promise<PinnedVersion | undefined>; until: number }>();

  constructor(private readonly options: StatusOptions) {
    this.byName = new Map(options.projections.map((p) => [p.name, p]));
    if (options.transport) {
      this.transport = options.transport;
      this.ownsTransport = false;
    } else {
      const { kafka, topic, relayCheckpoint, db } = options;
      this.transport = new KafkaLogTransport({
        kafka,
        topic,
        db,
        ...(relayCheckpoint ? { relayCheckpoint } : {}),
      });
      this.ownsTransport = true;
    }
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }

  head(): Promise<LogPosition> {
    return readLogHead(this.options.db);
  }

  private projection(name: string) {
    const p = this.byName.get(name);
    if (!p) throw new Error(`unknown projection "${name}" (known: ${this.names.join(", ")})`);
    return p;
  }

  /** The position up to which `name` has applied every log entry. */
  async positionOf(name: string): Promise<LogPosition> {
    const projection = this.projection(name);
    const { topic } = this.transport;
    return this.transport.consumerPosition(consumerGroup(name, this.options.groupPrefix), (partition) =>
      projection.appliedPosition(topic, partition),
    );
  }

  /** The checkpoint readers of `name` are pinned to (cached for half a second unless `fresh`). */
  private pinOf(name: string, fresh = false): Promise<PinnedVersion | undefined> {
    const projection = this.projection(name);
    if (!projection.pinnedVersion) return Promise.resolve(undefined);
    const now = Date.now();
    const cached = this.pins.get(name);
    if (!fresh && cached && cached.until >= now) return cached.value;
    const value = projection.pinnedVersion();
    this.pins.set(name, { value, until: now + 500 });
    value.catch(() => {
      if (this.pins.get(name)?.value === value) this.pins.delete(name); // a failed read is not kept
    });
    return value;
  }

  async status(): Promise<StatusReport> {
    const head = await this.head();
    const projectors = await Promise.all(
      this.names.map(async (name) => {
        const position = await this.positionOf(name);
        const pin = await this.pinOf(name, true);
        return {
          name,
          position: formatPositionToken(position),
          lag: await countLogAfter(this.options.db, position),
          at: position,
          pinned: pin && {
            version: pin.version,
            position: formatPositionToken(pin.position),
            lag: await countLogAfter(this.options.db, pin.position),
          },
        };
      }),
    );
    logHeadPosition.set(head.position);
    for (const p of projectors) {
      projectorLag.set({ projector: p.name }, p.lag);
      projectorPosition.set({ projector: p.name }, p.at.position);
    }
    return {
      head: formatPositionToken(head),
      projectors: projectors.map(({ name, position, lag, pinned }) => {
        const readModel = this.options.readModelHealth?.(name);
        return {
          name,
          position,
          lag,
          ...(readModel ? { read_model: readModel } : {}),
          ...(pinned ? { pinned } : {}),
        };
      }),
    };
  }

  /**
   * Waits until every named projection has passed `token` (a write's position), at most `timeoutMs`
   * (capped at 5 s). Throws PositionTokenError for a malformed token. Polls the cheap check (every partition's
   * applied position passed the token) often and the full check (above) every 200 ms.
   */
  async waitForPosition(
    names: readonly string[],
    token: string,
    timeoutMs = MAX_WAIT_MS,
  ): Promise<{ reached: boolean; waitedMs: number }> {
    const target = parsePositionToken(token);
    if (!target) throw new PositionTokenError(token);
    for (const name of names) this.projection(name);
    for (const name of names) {
      const pin = await this.pinOf(name);
      // Readers pinned to a past checkpoint never see a later write while the pin holds: no wait can help.
      if (pin && compareLogPositions(pin.position, target) < 0) return { reached: false, waitedMs: 0 };
    }
    const started = Date.now();
    const deadline = started + Math.min(Math.max(timeoutMs, 0), MAX_WAIT_MS);
    const pending = new Set(names);
    let lastFull = 0;
    for (;;) {
      for (const name of [...pending]) if (await this.allPartitionsPassed(name, target)) pending.delete(name);
      if (pending.size > 0 && Date.now() - lastFull >= 200) {
        lastFull = Date.now();
        for (const name of [...pending]) {
          if (compareLogPositions(await this.positionOf(name), target) >= 0) pending.delete(name);
        }
      }
      if (pending.size === 0) return { reached: true, waitedMs: Date.now() - started };
      if (Date.now() >= deadline) return { reached: false, waitedMs: Date.now() - started };
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private partitions: number[] | undefined;

  private async allPartitionsPassed(name: string, target: LogPosition): Promise<boolean> {
    this.partitions ??= await this.transport.partitions();
    const projection = this.projection(name);
    for (const partition of this.partitions) {
      const applied = await projection.appliedPosition(this.transport.topic, partition);
      if (!applied || compareLogPositions(applied, target) < 0) return false;
    }
    return true;
  }

  async close(): Promise<void> {
    if (this.ownsTransport) await this.transport.close();
  }
}

let defaultStatus: ProjectionStatus | undefined;

/** The projectors role registers its status here so that serving in the same process can wait on it. */
export function setDefaultProjectionStatus(status: ProjectionStatus | undefined): void {
  defaultStatus = status;
}

/**
 * Read-your-writes for serving: waits (bounded, ≤ 5 s) until the named projections have passed `token`.
 * Throws PositionTokenError (400, field `min_position`) for a malformed token.
 */
export function waitForPosition(
  projectionNames: readonly string[],
  token: string,
  timeoutMs = MAX_WAIT_MS,
): Promise<{ reached: boolean; waitedMs: number }> {
  if (!defaultStatus)
    throw new Error("no projection status registered: start the projectors role in this process");
  return defaultStatus.waitForPosition(projectionNames, token, timeoutMs);
}
