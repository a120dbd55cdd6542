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
  | (LogEnvelope & { kind: "recommendation"; event: RecommendationServedEvent })
  | (LogEnvelope & { kind: "retraction"; event: RetractionEvent });

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

/**
 * A compensating entry: takes back the interaction `retracts` (ingest/retraction). It carries a copy of the
 * original so a projection undoes exactly what the original did without reading the log, and it is keyed by
 * the original's user, so it reaches the original's partition after the original.
 */
export interface RetractionEvent {
  /** Derived from the original's id (retractionEventId): one retraction per event, whatever is sent. */
  event_id: string;
  type: "retraction";
  /** The retracted interaction's event_id. */
  retracts: string;
  /** The command that retracted it (one id per request). */
  retraction_id: string;
  /** The original's user (its Kafka key) and item, as the log's columns hold them. */
  user_id: string;
  item_id?: string;
  /** When it was retracted (ISO-8601). */
  timestamp: string;
  reason?: string;
  /**
   * The original item's categories as the log had them at the original's position (its latest catalog entry
   * before it): the categories the original's category effects went to, whatever the catalog says now.
   */
  categories: string[];
  /** The original interaction, as stored. */
  original: InteractionEvent;
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
    case "retraction":
      return m.event.user_id;
  }
}
