-- Per-variant sufficient statistics of one conversion/mean metric, from per-user totals (never from
-- per-day sums): n, Σx, Σx², the pre-period Σpre, Σpre², and Σx·pre for CUPED. These are exactly what
-- analytics/stats (gbstats' formulas) needs; mean = sum / n, variance = (sum_squares - sum²/n) / (n - 1).
-- Per-user values are capped (post and pre alike) at an absolute value and/or at a percentile of all
-- exposed users' post values (linear interpolation, as numpy / PERCENTILE.INC); 0 disables either.
-- Parameters: as user_metric_values.sql, plus
--   {cap:Float64}             absolute cap, 0 = none
--   {cap_percentile:Float64}  e.g. 0.99, 0 = none
SELECT
    variant,
    count() AS n,
    sum(p) AS sum,
    sum(p * p) AS sum_squares,
    sum(q) AS pre_sum,
    sum(q * q) AS pre_sum_squares,
    sum(p * q) AS cross_sum,
    any(cap_value) AS cap_value
FROM
(
    SELECT variant, least(post_value, cap_value) AS p, least(pre_value, cap_value) AS q, cap_value
    FROM
    (
        SELECT
            variant, post_value, pre_value,
            least(if({cap:Float64} > 0, {cap:Float64}, inf),
                  if({cap_percentile:Float64} > 0,
                     quantileExactInclusive({cap_percentile:Float64})(post_value) OVER (), inf)) AS cap_value
        FROM
        (
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
        )
    )
)
GROUP BY variant
ORDER BY variant
