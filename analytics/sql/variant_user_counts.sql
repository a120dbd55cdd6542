-- Users first exposed per variant in [from, to): the input of the sample-ratio-mismatch check.
-- Parameters: {experiment:String}, {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}
SELECT exposed_variant AS variant, count() AS users
FROM
(
    SELECT user_id, toString(argMinArgMin(variant, event_id, occurred_at)) AS exposed_variant, min(occurred_at) AS exposed_at
    FROM reckon.events FINAL
    WHERE type = 'exposure' AND experiment_key = {experiment:String}
    GROUP BY user_id
    HAVING exposed_at >= {from:DateTime64(3, 'UTC')} AND exposed_at < {to:DateTime64(3, 'UTC')}
)
GROUP BY variant
ORDER BY variant
