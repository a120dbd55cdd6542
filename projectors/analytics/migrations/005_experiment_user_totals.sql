-- Per running experiment and exposed user: the first exposure (time, variant, context at it) and each
-- metric's value over the user's post-exposure window (post), over the pre-period before exposure (pre,
-- the CUPED covariate) and, for ratio metrics, the denominator (den); arrays in the definition's metric
-- order. The analytics projection recomputes a user's row from all their events whenever a batch
-- touches them (so redelivery and replays write the same values again) and rebuilds an experiment's
-- rows when its definition changes. `ver` = definition version << 42 | milliseconds since 2020: a row of
-- a later definition always replaces one of an earlier definition, then the latest computation wins.
-- Results of an open analysis read these rows (one per user) instead of every event, once they have
-- checked that every exposed user has a row computed with the current definition (`def_hash`). One
-- partition per experiment, so a rebuild can compact its experiment's rows into one part (FINAL over one
-- part costs a fraction of merging overlapping ones at every read).
CREATE TABLE IF NOT EXISTS reckon.experiment_user_totals
(
    experiment_key LowCardinality(String),
    user_id        String,
    x_ms           Int64,
    variant        LowCardinality(String),
    device         LowCardinality(String),
    platform       LowCardinality(String),
    country        LowCardinality(String),
    locale         LowCardinality(String),
    app_version    LowCardinality(String),
    def_hash       LowCardinality(String),
    post           Array(Float64),
    pre            Array(Float64),
    den            Array(Float64),
    ver            UInt64
)
ENGINE = ReplacingMergeTree(ver)
PARTITION BY experiment_key
ORDER BY (experiment_key, user_id);

-- Which definitions have had their totals rebuilt over every exposed user (one row per rebuild), so a
-- restarted projector does not rebuild again.
CREATE TABLE IF NOT EXISTS reckon.experiment_totals_builds
(
    experiment_key LowCardinality(String),
    def_hash       String,
    users          UInt64,
    built_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(built_at)
ORDER BY (experiment_key, def_hash);

-- The events again, clustered by user with small granules and small compressed blocks, for the
-- recompute of a batch's users: in `events` (sorted by type first) a few hundred users' rows are spread
-- over most granules, here they are a few hundred short ranges, each decompressing a few KB (about half
-- the read time of the default 64 KB blocks for 500 users among 10M events). Only the columns experiment analysis reads. Fed by every insert into
-- reckon.events, like first_exposures.
CREATE TABLE IF NOT EXISTS reckon.user_events
(
    user_id        String,
    type           LowCardinality(String),
    occurred_at    DateTime64(3, 'UTC'),
    event_id       UUID,
    value          Nullable(Float64),
    experiment_key LowCardinality(String),
    variant        LowCardinality(String),
    device         LowCardinality(String),
    platform       LowCardinality(String),
    country        LowCardinality(String),
    locale         LowCardinality(String),
    app_version    LowCardinality(String)
)
ENGINE = ReplacingMergeTree
ORDER BY (user_id, type, occurred_at, event_id)
SETTINGS index_granularity = 64, min_compress_block_size = 4096, max_compress_block_size = 16384;

CREATE MATERIALIZED VIEW IF NOT EXISTS reckon.user_events_mv TO reckon.user_events AS
SELECT user_id, type, occurred_at, event_id, value, experiment_key, variant, device, platform, country,
       locale, app_version
FROM reckon.events;
