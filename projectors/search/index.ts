import type { Database } from "../../core/postgres/database.ts";
import type { FeaturesConfig } from "../../core/read-models/features-config.ts";
import { itemDetailReadModel } from "./item-detail-model.ts";
import { searchReadModel } from "./search-model.ts";
import type { SqlReadModel } from "./sql-projection.ts";

export { SEARCH_PROJECTION } from "./search-model.ts";
export { ITEM_DETAIL_PROJECTION } from "./item-detail-model.ts";
export { createSqlProjection } from "./sql-projection.ts";
export { replaySqlReadModel, type SqlReplayResult } from "./replay.ts";

/** The catalog read models in Postgres, by projection name: what the role runs and `reckon replay` rebuilds. */
export function catalogReadModels(config: FeaturesConfig): Record<string, SqlReadModel> {
  const detail = itemDetailReadModel(config);
  return { [searchReadModel.name]: searchReadModel, [detail.name]: detail };
}

export type { Database };
