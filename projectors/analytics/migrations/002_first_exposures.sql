-- The first exposure of each user to each experiment, kept as aggregate states so the earliest exposure
-- wins whatever order or how many times exposures arrive: min and argMin are idempotent and
-- order-free. Ties on the timestamp are broken by event_id so every replica picks the same variant.
-- The context dimensions are those of the first exposure (what breakdowns group by).
CREATE TABLE IF NOT EXISTS reckon.first_exposures
(
    experiment_key   LowCardinality(String),
    user_id          String,
    first_exposed_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    variant          AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID)),
    device           AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID)),
    platform         AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID)),
    country          AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID)),
    locale           AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID)),
    app_version      AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), UUID))
)
ENGINE = AggregatingMergeTree
ORDER BY (experiment_key, user_id);

-- Fed by every insert into reckon.events (the projection's batches, rebuilds, bulk loads alike), so no
-- writer can forget it. The inner SELECT renames columns so the state aliases do not shadow them.
CREATE MATERIALIZED VIEW IF NOT EXISTS reckon.first_exposures_mv TO reckon.first_exposures AS
SELECT
    experiment_key,
    user_id,
    min(at) AS first_exposed_at,
    argMinState(v, (at, id)) AS variant,
    argMinState(d, (at, id)) AS device,
    argMinState(p, (at, id)) AS platform,
    argMinState(c, (at, id)) AS country,
    argMinState(l, (at, id)) AS locale,
    argMinState(av, (at, id)) AS app_version
FROM
(
    SELECT
        toString(experiment_key) AS experiment_key,
        user_id,
        occurred_at AS at,
        event_id AS id,
        toString(variant) AS v,
        toString(device) AS d,
        toString(platform) AS p,
        toString(country) AS c,
        toString(locale) AS l,
        toString(app_version) AS av
    FROM reckon.events
    WHERE type = 'exposure' AND experiment_key != ''
)
GROUP BY experiment_key, user_id;
