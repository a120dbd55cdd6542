import type { InteractionEvent } from "./event.ts";
import type { CatalogItem } from "./item.ts";
import type { RecommendationServedEvent } from "./recommendation-served.ts";

/**
 * What the relay publishes to `reckon.events.v1` for every log entry: the event as stored plus its place in the
 * log, so consumers report and resume in log positions. Keyed by `user_id` (catalog changes by `item:<id>`); a served recommendation is keyed by its user, so it
 * shares the partition, and the order, of that user's interactions.
 */
export type LogMessage =
  | (LogEnvelope & { kind: "interaction"; event: InteractionEvent })
  | (LogEnvelope & { kind: "catalog"; event: ItemChangedEvent })
  | (LogEnvelope & { kind: "experiment"; event: ExperimentLogEvent })
  | (LogEnvelope & { kind: "recommendation"; event: RecommendationServedEvent });

export interface LogEnvelope {
  /** The event's global position in the Postgres log. */
  position: number;
  /** The id of the transaction that wrote it (decimal string; xid8). Log order is (transaction_id, position). */
  transaction_id: string;
  /** Server time at which ingest recorded it (ISO-8601). */
  received_at: string;
}

export interface ItemChangedEvent {
  event_id: string;
  type: "item_changed";
  item_id: string;
  timestamp: string;
  item: CatalogItem;
}

export interface ExperimentLogEvent {
  event_id: string;
  type: string;
  timestamp: string;
  experiment_key: string;
  [field: string]: unknown;
}

export function messageKey(m: LogMessage): string {
  switch (m.kind) {
    case "interaction":
    case "recommendation":
      return m.event.user_id;
    case "catalog":
      return `item:${m.event.item_id}`;
    case "experiment":
      return `experiment:${m.event.experiment_key}`;
  }
}
