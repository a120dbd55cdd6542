// Turns log messages into rows of the analytics tables. Pure, so every mapping rule is unit-tested.
import type { ItemChangedEvent, LogMessage } from "../../core/contracts/log-message.ts";
import type { InteractionEvent } from "../../core/contracts/event.ts";
import type { RecommendationServedEvent } from "../../core/contracts/recommendation-served.ts";

export interface EventRow {
  event_id: string;
  type: string;
  user_id: string;
  item_id: string;
  occurred_at: string;
  value: number | null;
  experiment_key: string;
  variant: string;
  recommendation_id: string;
  session_id: string;
  device: string;
  platform: string;
  page: string;
  referrer: string;
  country: string;
  locale: string;
  app_version: string;
  properties: string;
  position: number;
  transaction_id: string;
  received_at: string;
  [column: string]: unknown;
}

export interface ItemRow {
  item_id: string;
  version: number;
  title: string;
  categories: string[];
  attributes: string;
  available: boolean;
  published_at: string | null;
  updated_at: string;
  position: number;
  [column: string]: unknown;
}

/** One item of one served recommendation (`reckon.recommendation_items`). */
export interface RecommendationItemRow {
  recommendation_id: string;
  user_id: string;
  item_id: string;
  served_at: string;
  rank: number;
  source: string;
  /** -1: the heuristic ranker. */
  model_version: number;
  experiment_key: string;
  variant: string;
  list_size: number;
  position: number;
  [column: string]: unknown;
}

/** A retracted event: the analytics undo deletes its rows and recomputes what was derived from them. */
export interface RetractedRow {
  event_id: string;
  type: string;
  user_id: string;
  experiment_key: string;
}

export type RowMapping =
  | { table: "events"; row: EventRow }
  | { table: "recommendation_items"; rows: RecommendationItemRow[] }
  | { table: "retractions"; row: RetractedRow }
  | { table: "items"; row: ItemRow }
  | { table: null; outcome: "drop" | "dead_letter"; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UNSIGNED = /^\d{1,20}$/;

/**
 * Every value is checked before it reaches ClickHouse: one row the table rejects would fail the whole
 * batch's INSERT and the runtime would retry it forever, so a bad message must become a dead letter here.
 */
export function toRow(message: LogMessage): RowMapping {
  const envelopeProblem = checkEnvelope(message);
  if (envelopeProblem) return { table: null, outcome: "dead_letter", reason: envelopeProblem };
  switch (message.kind) {
    case "interaction":
      return eventRow(message.event, message);
    case "catalog":
      return itemRow(message.event, message);
    case "recommendation":
      return recommendationRows(message.event, message);
    case "experiment":
      // Results read definitions from the experiments write model; nothing here needs them.
      return { table: null, outcome: "drop", reason: "analytics does not project experiment definitions" };
    case "retraction":
      return retractedRow(message.event.original, message);
    default:
      return {
        table: null,
        outcome: "dead_letter",
        reason: `unknown message kind ${JSON.stringify((message as { kind?: unknown }).kind)}`,
      };
  }
}

function checkEnvelope(m: LogMessage): string | undefined {
  if (!Number.isSafeInteger(m.position) || m.position < 0) return "position must be a non-negative integer";
  if (typeof m.transaction_id !== "string" || !UNSIGNED.test(m.transaction_id)) {
    return "transaction_id must be a decimal string";
  }
  if (!isTimestamp(m.received_at)) return "received_at must be an ISO-8601 date-time";
  return undefined;
}

function isTimestamp(value: unknown): value is string {
  return typeof value === "string" && Number.isFinite(Date.parse(value));
}

function eventRow(e: InteractionEvent, m: LogMessage): RowMapping {
  if (typeof e?.event_id !== "string" || !UUID.test(e.event_id)) {
    return { table: null, outcome: "dead_letter", reason: "event_id must be a UUID" };
  }
  if (typeof e.type !== "string" || e.type === "") {
    return { table: null, outcome: "dead_letter", reason: "type must be a non-empty string" };
  }
  if (typeof e.user_id !== "string" || e.user_id === "") {
    return { table: null, outcome: "dead_letter", reason: "user_id must be a non-empty string" };
  }
  if (!isTimestamp(e.timestamp)) {
    return { table: null, outcome: "dead_letter", reason: "timestamp must be an ISO-8601 date-time" };
  }
  if (e.value !== undefined && (typeof e.value !== "number" || !Number.isFinite(e.value))) {
    return { table: null, outcome: "dead_letter", reason: "value must be a finite number" };
  }
  const context = e.context ?? {};
  return {
    table: "events",
    row: {
      event_id: e.event_id.toLowerCase(),
      type: e.type,
      user_id: e.user_id,
      item_id: e.item_id ?? "",
      // Normalised to UTC milliseconds so an offset in the client's timestamp cannot shift the sort key.
      occurred_at: new Date(e.timestamp).toISOString(),
      value: e.value ?? null,
      experiment_key: e.experiment?.key ?? "",
      variant: e.experiment?.variant ?? "",
      recommendation_id: typeof e.recommendation_id === "string" ? e.recommendation_id.toLowerCase() : "",
      session_id: context.session_id ?? "",
      device: context.device ?? "",
      platform: context.platform ?? "",
      page: context.page ?? "",
      referrer: context.referrer ?? "",
      country: context.country ?? "",
      locale: context.locale ?? "",
      app_version: context.app_version ?? "",
      properties: JSON.stringify(e.properties ?? {}),
      position: m.position,
      transaction_id: m.transaction_id,
      received_at: new Date(m.received_at).toISOString(),
    },
  };
}

/** The original, checked as its row was (a retraction of an event that was dead-lettered deletes nothing). */
function retractedRow(original: InteractionEvent, m: LogMessage): RowMapping {
  const mapped = eventRow(original, m);
  if (mapped.table !== "events") return mapped;
  const { event_id, type, user_id, experiment_key } = mapped.row;
  return { table: "retractions", row: { event_id, type, user_id, experiment_key } };
}

function itemRow(e: ItemChangedEvent, m: LogMessage): RowMapping {
  const item = e?.item;
  if (!item || typeof item.item_id !== "string" || item.item_id === "") {
    return { table: null, outcome: "dead_letter", reason: "item.item_id must be a non-empty string" };
  }
  if (!Number.isSafeInteger(item.version) || item.version < 0) {
    return { table: null, outcome: "dead_letter", reason: "item.version must be a non-negative integer" };
  }
  if (!isTimestamp(item.updated_at)) {
    return { table: null, outcome: "dead_letter", reason: "item.updated_at must be an ISO-8601 date-time" };
  }
  if (item.published_at !== undefined && !isTimestamp(item.published_at)) {
    return { table: null, outcome: "dead_letter", reason: "item.published_at must be an ISO-8601 date-time" };
  }
  return {
    table: "items",
    row: {
      item_id: item.item_id,
      version: item.version,
      title: item.title ?? "",
      categories: Array.isArray(item.categories) ? item.categories.map(String) : [],
      attributes: JSON.stringify(item.attributes ?? {}),
      available: item.available !== false,
      published_at: item.published_at === undefined ? null : new Date(item.published_at).toISOString(),
      updated_at: new Date(item.updated_at).toISOString(),
      position: m.position,
    },
  };
}

const MAX_RANK = 65_535;

function recommendationRows(e: RecommendationServedEvent, m: LogMessage): RowMapping {
  const fail = (reason: string): RowMapping => ({ table: null, outcome: "dead_letter", reason });
  if (typeof e?.event_id !== "string" || !UUID.test(e.event_id)) return fail("event_id must be a UUID");
  if (typeof e.user_id !== "string" || e.user_id === "") return fail("user_id must be a non-empty string");
  if (!isTimestamp(e.timestamp)) return fail("timestamp must be an ISO-8601 date-time");
  if (e.model_version !== null && !Number.isSafeInteger(e.model_version))
    return fail("model_version must be an integer or null");
  if (!Array.isArray(e.items) || e.items.length > MAX_RANK)
    return fail(`items must be an array of at most ${MAX_RANK}`);
  const experiment = e.experiment;
  if (
    experiment !== undefined &&
    (typeof experiment?.key !== "string" || typeof experiment.variant !== "string")
  )
    return fail("experiment must hold a key and a variant");
  const rows: RecommendationItemRow[] = [];
  for (const item of e.items) {
    if (typeof item?.item_id !== "string" || item.item_id === "")
      return fail("items[].item_id must be a non-empty string");
    if (!Number.isSafeInteger(item.rank) || item.rank < 1 || item.rank > MAX_RANK)
      return fail(`items[].rank must be an integer from 1 to ${MAX_RANK}`);
    if (typeof item.source !== "string") return fail("items[].source must be a string");
    rows.push({
      recommendation_id: e.event_id.toLowerCase(),
      user_id: e.user_id,
      item_id: item.item_id,
      served_at: new Date(e.timestamp).toISOString(),
      rank: item.rank,
      source: item.source,
      model_version: e.model_version ?? -1,
      experiment_key: experiment?.key ?? "",
      variant: experiment?.variant ?? "",
      list_size: e.items.length,
      position: m.position,
    });
  }
  return { table: "recommendation_items", rows };
}
