-- Users first exposed per variant in [from, to): the input of the sample-ratio-mismatch check.
-- Parameters: {experiment:String}, {from:DateTime64(3, 'UTC')}, {to:DateTime64(3, 'UTC')}
SELECT exposed_variant AS variant, count() AS users
FROM
(
    SELECT user_id, argMinMerge(variant) AS exposed_variant, min(first_exposed_at) AS exposed_at
    FROM reckon.first_exposures
    WHERE experiment_key = {experiment:String}
    GROUP BY user_id
    HAVING exposed_at >= {from:DateTime64(3, 'UTC')} AND exposed_at < {to:DateTime64(3, 'UTC')}
)
GROUP BY variant
ORDER BY variant
