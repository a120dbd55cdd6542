-- Per-variant sufficient statistics of a ratio metric (Σ numerator / Σ denominator over users, e.g.
-- clicks per view), from per-user totals after the first exposure: n, Σnum, Σnum², Σden, Σden²,
-- Σnum·den for the delta method, and the numerator's pre-period Σpre, Σpre², Σnum·pre.
-- Parameters:
--   {experiment:String}
--   {numerator_event_type:String},   {numerator_aggregation:String}    count | sum
--   {denominator_event_type:String}, {denominator_aggregation:String}  count | sum
--   {window_hours:Float64}   0 = until `to`
--   {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}
SELECT
    variant,
    count() AS n,
    sum(num) AS sum,
    sum(num * num) AS sum_squares,
    sum(num_pre) AS pre_sum,
    sum(num_pre * num_pre) AS pre_sum_squares,
    sum(num * num_pre) AS cross_sum,
    sum(den) AS den_sum,
    sum(den * den) AS den_sum_squares,
    sum(num * den) AS num_den_cross
FROM
(
    SELECT
        user_id,
        any(variant) AS variant,
        sum(num_post * if({numerator_aggregation:String} = 'count', 1, v)) AS num,
        sum(num_pre_row * if({numerator_aggregation:String} = 'count', 1, v)) AS num_pre,
        sum(den_post * if({denominator_aggregation:String} = 'count', 1, v)) AS den
    FROM
    (
        SELECT
            x.user_id AS user_id,
            x.exposed_variant AS variant,
            least(x.x_ms + if({window_hours:Float64} > 0, toInt64({window_hours:Float64} * 3600000), 9007199254740991),
                  toUnixTimestamp64Milli({to:DateTime64(3, 'UTC')})) AS post_end,
            e.type = {numerator_event_type:String} AND e.t >= x.x_ms AND e.t < post_end AS num_post,
            e.type = {numerator_event_type:String} AND e.t < x.x_ms AND e.t >= x.x_ms - if({window_hours:Float64} > 0, toInt64({window_hours:Float64} * 3600000), 1209600000) AS num_pre_row,
            e.type = {denominator_event_type:String} AND e.t >= x.x_ms AND e.t < post_end AS den_post,
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
            SELECT user_id, type, toUnixTimestamp64Milli(occurred_at) AS t, toFloat64(ifNull(value, 0)) AS v
            FROM reckon.events FINAL
            WHERE type IN ({numerator_event_type:String}, {denominator_event_type:String})
              AND occurred_at < {to:DateTime64(3, 'UTC')}
        ) AS e ON e.user_id = x.user_id
    )
    GROUP BY user_id
)
GROUP BY variant
ORDER BY variant
