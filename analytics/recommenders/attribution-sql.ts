// Attribution (the rule of attribution.ts) and the recommender metrics' sufficient statistics, in ClickHouse
// over `reckon.recommendation_items` (what serving answered) and `reckon.events` (what users did). Everything is
// anchored on the lists served in [from, to): their interactions are read up to `to` + the window.
import type { ClickHouseStore } from "../../core/clickhouse/port.ts";

export interface AttributionWindow {
  from: Date;
  to: Date;
  windowMs: number;
  /** Interaction types that count as a click (CTR) and as a conversion (conversion rate, revenue = value). */
  clickTypes: readonly string[];
  conversionTypes: readonly string[];
}

/** The served slots of [from, to), and the interactions that may be credited to them, attributed. */
function attributedCte(): string {
  return `
  served AS (
    SELECT recommendation_id, toString(recommendation_id) AS rec, user_id, item_id, served_at, rank, source,
           model_version, experiment_key, variant
    FROM reckon.recommendation_items FINAL
    WHERE served_at >= {from:DateTime64(3, 'UTC')} AND served_at < {to:DateTime64(3, 'UTC')}
  ),
  interactions AS (
    SELECT toString(event_id) AS event_id, type, user_id, item_id, occurred_at, ifNull(value, 0) AS value,
           recommendation_id AS named
    FROM reckon.events FINAL
    WHERE type IN {types:Array(String)} AND item_id != ''
      AND occurred_at >= {from:DateTime64(3, 'UTC')}
      AND occurred_at < {to:DateTime64(3, 'UTC')} + toIntervalMillisecond({window_ms:UInt64})
  ),
  explicit AS (
    SELECT i.event_id AS event_id, i.type AS type, i.value AS value, s.rec AS rec, s.item_id AS item_id
    FROM interactions AS i
    INNER JOIN served AS s ON s.user_id = i.user_id AND s.item_id = i.item_id AND s.rec = i.named
  ),
  windowed AS (
    SELECT i.event_id AS event_id, any(i.type) AS type, any(i.value) AS value,
           argMax(s.rec, (s.served_at, s.rec)) AS rec, any(i.item_id) AS item_id
    FROM interactions AS i
    INNER JOIN served AS s ON s.user_id = i.user_id AND s.item_id = i.item_id
    WHERE toUnixTimestamp64Milli(i.occurred_at) - toUnixTimestamp64Milli(s.served_at)
            BETWEEN 0 AND {window_ms:UInt64}
      AND i.event_id NOT IN (SELECT event_id FROM explicit)
    GROUP BY i.event_id
  ),
  attributed AS (
    SELECT event_id, type, value, rec, item_id, 'explicit' AS method FROM explicit
    UNION ALL
    SELECT event_id, type, value, rec, item_id, 'window' AS method FROM windowed
  )`;
}

function params(w: AttributionWindow) {
  return {
    from: w.from,
    to: w.to,
    window_ms: w.windowMs,
    types: [...new Set([...w.clickTypes, ...w.conversionTypes])],
    click_types: [...w.clickTypes],
    conversion_types: [...w.conversionTypes],
  };
}

export interface AttributionRow {
  event_id: string;
  recommendation_id: string;
  item_id: string;
  method: "explicit" | "window";
}

/** Every attributed interaction of the window (for inspection and for the spec that checks it against the rule). */
export async function loadAttributions(ch: ClickHouseStore, w: AttributionWindow): Promise<AttributionRow[]> {
  return ch.query<AttributionRow>(
    `WITH ${attributedCte()}
     SELECT event_id, rec AS recommendation_id, item_id, method FROM attributed ORDER BY event_id`,
    params(w),
  );
}

/**
 * Per group, sums over users of each user's totals (users are the unit, as in experiment results): the
 * sufficient statistics of three ratio metrics with their shared denominators —
 * CTR@k = clicked slots at rank ≤ k / slots shown at rank ≤ k; conversion rate = attributed conversions / slots
 * shown; revenue per impression = attributed conversion value / slots shown.
 */
export interface GroupSumsRow {
  dimension: string;
  value: string;
  users: number;
  shown_k: number;
  shown_k_sq: number;
  clicked_k: number;
  clicked_k_sq: number;
  clicked_k_x_shown_k: number;
  shown: number;
  shown_sq: number;
  conversions: number;
  conversions_sq: number;
  conversions_x_shown: number;
  revenue: number;
  revenue_sq: number;
  revenue_x_shown: number;
  recommendations: number;
  explicit_attributions: number;
  window_attributions: number;
}

/**
 * Groups: `all`, `model_version` (the ranker's registry version; "heuristic" for none), `source` (candidate
 * source) and `experiment:<key>` (variant; only lists served under an experiment). With `experimentKey`, only
 * that experiment's lists and only its variant groups.
 */
export async function loadGroupSums(
  ch: ClickHouseStore,
  w: AttributionWindow & { k: number; experimentKey?: string },
): Promise<GroupSumsRow[]> {
  const dimensions = w.experimentKey
    ? `[(concat('experiment:', toString(experiment_key)), toString(variant))]`
    : `arrayFilter(d -> d.2 != '', [
          ('all', 'all'),
          ('model_version', if(model_version < 0, 'heuristic', toString(model_version))),
          ('source', toString(source)),
          (concat('experiment:', toString(experiment_key)), if(experiment_key = '', '', toString(variant)))])`;
  const rows = await ch.query<Record<string, string | number>>(
    `WITH ${attributedCte()},
     slot_outcomes AS (
       SELECT rec, item_id,
              countIf(type IN {click_types:Array(String)}) > 0 AS clicked,
              countIf(type IN {conversion_types:Array(String)}) AS conversions,
              sumIf(value, type IN {conversion_types:Array(String)}) AS revenue,
              countIf(method = 'explicit') AS explicit_n,
              countIf(method = 'window') AS window_n
       FROM attributed GROUP BY rec, item_id
     ),
     slots AS (
       SELECT s.rec AS rec, s.user_id AS user_id, s.rank AS rank, s.source AS source,
              s.model_version AS model_version, s.experiment_key AS experiment_key, s.variant AS variant,
              o.clicked AS clicked, o.conversions AS conversions, o.revenue AS revenue,
              o.explicit_n AS explicit_n, o.window_n AS window_n
       FROM served AS s
       LEFT JOIN slot_outcomes AS o ON o.rec = s.rec AND o.item_id = s.item_id
       ${w.experimentKey ? "WHERE s.experiment_key = {experiment:String}" : ""}
     ),
     per_user AS (
       SELECT dim.1 AS dimension, dim.2 AS value, user_id,
              countIf(rank <= {k:UInt16}) AS u_shown_k,
              countIf(rank <= {k:UInt16} AND clicked) AS u_clicked_k,
              count() AS u_shown,
              sum(conversions) AS u_conversions,
              sum(revenue) AS u_revenue,
              uniqExact(rec) AS u_recommendations,
              sum(explicit_n) AS u_explicit,
              sum(window_n) AS u_window
       FROM slots
       ARRAY JOIN ${dimensions} AS dim
       GROUP BY dimension, value, user_id
     )
     SELECT dimension, value, count() AS users,
            sum(u_shown_k) AS shown_k, sum(u_shown_k * u_shown_k) AS shown_k_sq,
            sum(u_clicked_k) AS clicked_k, sum(u_clicked_k * u_clicked_k) AS clicked_k_sq,
            sum(u_clicked_k * u_shown_k) AS clicked_k_x_shown_k,
            sum(u_shown) AS shown, sum(u_shown * u_shown) AS shown_sq,
            sum(u_conversions) AS conversions, sum(u_conversions * u_conversions) AS conversions_sq,
            sum(u_conversions * u_shown) AS conversions_x_shown,
            sum(u_revenue) AS revenue, sum(u_revenue * u_revenue) AS revenue_sq,
            sum(u_revenue * u_shown) AS revenue_x_shown,
            sum(u_recommendations) AS recommendations,
            sum(u_explicit) AS explicit_attributions, sum(u_window) AS window_attributions
     FROM per_user
     GROUP BY dimension, value
     ORDER BY dimension, value`,
    { ...params(w), k: w.k, ...(w.experimentKey ? { experiment: w.experimentKey } : {}) },
  );
  // 64-bit sums come back as strings (exact); every figure here is far below 2^53.
  return rows.map((r) => {
    const out: Record<string, string | number> = {};
    for (const [key, v] of Object.entries(r))
      out[key] = key === "dimension" || key === "value" ? String(v) : Number(v);
    return out as unknown as GroupSumsRow;
  });
}
