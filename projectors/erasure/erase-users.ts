import type { ClickHouseStore } from "../../core/clickhouse/port.ts";
import type { Database } from "../../core/postgres/database.ts";
import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { userTag } from "../../core/read-models/keys.ts";
import { eraseClickHouseRows } from "./clickhouse-erasure.ts";
import { erasePostgresEvents } from "./postgres-erasure.ts";

/** The stores a user's data lives in, as the process running the erasure reaches them. */
export interface ErasureStores {
  db: Database;
  projectionStore: () => Promise<ProjectionStore>;
  /** RECKON_REDIS_PREFIX: the read models', the model artifacts' and serving's keys all live under it. */
  prefix: string;
  /** The analytics read models; absent when this deployment runs no ClickHouse projection. */
  clickhouse?: (() => Promise<ClickHouseStore>) | undefined;
  /** The analytics database (`reckon`). */
  analyticsDatabase: string;
}

/** What one user's erasure removed, store by store. */
export interface UserErasureReceipt {
  user_id: string;
  /** Interaction events deleted from the Postgres log (the outbox, and what replays and training read). */
  postgres_events: number;
  /** Keys deleted from the projection store (features, neighbours history, model candidates; every version). */
  projection_store_keys: number;
  /** Rows deleted per ClickHouse table (events, first exposures, per-user experiment totals); null: no ClickHouse. */
  clickhouse_rows: Record<string, number> | null;
}

export interface ErasureReceipt {
  erased_at: string;
  users: UserErasureReceipt[];
  /**
   * The Kafka topic is not rewritten: published copies stay until the topic's retention removes them, and every
   * projector skips them (the suppression record in Postgres), so none can bring the user back.
   */
  kafka: "suppressed";
}

/**
 * Erases users from every store, in the order that keeps them from coming back: first the Postgres log and the
 * suppression record (from then on the relay cannot publish, the projectors skip and replays cannot read the
 * user's events), then the read models built from them. Idempotent: a repeated erasure finds nothing and says
 * so with zero counts; a failure part-way is finished by repeating it.
 */
export async function eraseUsers(
  stores: ErasureStores,
  userIds: readonly string[],
  now: Date,
): Promise<ErasureReceipt> {
  const ids = [...new Set(userIds)];
  const events = await erasePostgresEvents(stores.db, ids);
  const { keys, clickhouse } = await eraseReadModels(stores, ids);
  return {
    erased_at: now.toISOString(),
    users: ids.map((id) => ({
      user_id: id,
      postgres_events: events.get(id) ?? 0,
      projection_store_keys: keys.get(id) ?? 0,
      clickhouse_rows: clickhouse ? (clickhouse.get(id) ?? {}) : null,
    })),
    kafka: "suppressed",
  };
}

/**
 * Deletes the users from the read models only (projection store, ClickHouse): what a projector does again when
 * it learns of an erasure late, since the log and the suppression record are done already.
 */
export async function eraseReadModels(stores: ErasureStores, ids: readonly string[]) {
  const store = await stores.projectionStore();
  const keys = new Map<string, number>();
  for (const id of ids) keys.set(id, await store.deleteTagged(stores.prefix, userTag(id)));
  const clickhouse = stores.clickhouse
    ? await eraseClickHouseRows(await stores.clickhouse(), stores.analyticsDatabase, ids)
    : undefined;
  return { keys, clickhouse };
}
