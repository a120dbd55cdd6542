-- One metric's value per exposed user: over the analysis window after the first exposure (post_value)
-- and over the pre-period just before it (pre_value, the CUPED covariate): as long as the window, or the
-- 14 days before exposure without one (GrowthBook's default lookback). Users first
-- exposed in [from, to); events count until `to`. The window after exposure is
-- [exposure, min(exposure + window_hours, to)); window_hours = 0 means "until to".
-- Parameters:
--   {experiment:String}
--   {event_type:String}      e.g. purchase
--   {aggregation:String}     conversion (did it happen: 0/1) | count (how many) | sum (sum of value)
--   {window_hours:Float64}   0 = no window
--   {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}
SELECT
    user_id,
    variant,
    first_exposed_at,
    multiIf({aggregation:String} = 'conversion', toFloat64(max(in_post)),
            {aggregation:String} = 'count', toFloat64(sum(in_post)),
            sum(in_post * v)) AS post_value,
    multiIf({aggregation:String} = 'conversion', toFloat64(max(in_pre)),
            {aggregation:String} = 'count', toFloat64(sum(in_pre)),
            sum(in_pre * v)) AS pre_value
FROM
(
    SELECT
        x.user_id AS user_id,
        x.exposed_variant AS variant,
        x.exposed_at AS first_exposed_at,
        least(x.x_ms + if({window_hours:Float64} > 0, toInt64({window_hours:Float64} * 3600000), 9007199254740991),
              toUnixTimestamp64Milli({to:DateTime64(3, 'UTC')})) AS post_end,
        e.type = {event_type:String} AND e.t >= x.x_ms AND e.t < post_end AS in_post,
        e.type = {event_type:String} AND e.t < x.x_ms AND e.t >= x.x_ms - if({window_hours:Float64} > 0, toInt64({window_hours:Float64} * 3600000), 1209600000) AS in_pre,
        e.v AS v
    FROM
    (
        SELECT user_id, toString(argMinArgMin(variant, event_id, occurred_at)) AS exposed_variant, min(occurred_at) AS exposed_at,
               toUnixTimestamp64Milli(exposed_at) AS x_ms
        FROM reckon.events FINAL
        WHERE type = 'exposure' AND experiment_key = {experiment:String}
        GROUP BY user_id
        HAVING exposed_at >= {from:DateTime64(3, 'UTC')} AND exposed_at < {to:DateTime64(3, 'UTC')}
    ) AS x
    LEFT JOIN
    (
        SELECT user_id, type, toUnixTimestamp64Milli(occurred_at) AS t, ifNull(value, 0) AS v
        FROM reckon.events FINAL
        WHERE type = {event_type:String} AND occurred_at < {to:DateTime64(3, 'UTC')}
    ) AS e ON e.user_id = x.user_id
)
GROUP BY user_id, variant, first_exposed_at
ORDER BY user_id
