-- Every interaction event, one row per event_id. ReplacingMergeTree collapses redelivered copies: the
-- sorting key holds only fields fixed per event (type, user, event time, id), so equal event_ids always
-- collide, and occurred_at (in the key) keeps both copies in the same monthly partition. Merges are
-- eventual, so readers deduplicate with FINAL.
CREATE TABLE IF NOT EXISTS reckon.events
(
    event_id       UUID,
    type           LowCardinality(String),
    user_id        String,
    item_id        String DEFAULT '',
    occurred_at    DateTime64(3, 'UTC'),
    value          Nullable(Float64),
    experiment_key LowCardinality(String) DEFAULT '',
    variant        LowCardinality(String) DEFAULT '',
    session_id     String DEFAULT '',
    device         LowCardinality(String) DEFAULT '',
    platform       LowCardinality(String) DEFAULT '',
    page           String DEFAULT '',
    referrer       String DEFAULT '',
    country        LowCardinality(String) DEFAULT '',
    locale         LowCardinality(String) DEFAULT '',
    app_version    LowCardinality(String) DEFAULT '',
    properties     String DEFAULT '{}',
    position       UInt64,
    transaction_id UInt64,
    received_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (type, user_id, occurred_at, event_id);
