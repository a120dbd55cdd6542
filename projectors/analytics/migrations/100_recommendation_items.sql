-- Online evaluation of recommenders. Interactions may name the recommendation they came from.
ALTER TABLE reckon.events ADD COLUMN IF NOT EXISTS recommendation_id String DEFAULT '';

-- Every item of every recommendation serving answered (log kind 'recommendation'): one row per (answer, item),
-- with its rank, the candidate source that proposed it, the ranker's version and the experiment variant the
-- request ran under. The sorting key leads with (user, item, time), the lookup of attribution by window; the
-- recommendation id in the key makes each row's key unique, so a redelivered record collapses into its copy.
CREATE TABLE IF NOT EXISTS reckon.recommendation_items
(
    recommendation_id UUID,
    user_id           String,
    item_id           String,
    served_at         DateTime64(3, 'UTC'),
    rank              UInt16,
    source            LowCardinality(String),
    -- The ranker's registry version; -1 for the heuristic ranker (null in the answer).
    model_version     Int64 DEFAULT -1,
    experiment_key    LowCardinality(String) DEFAULT '',
    variant           LowCardinality(String) DEFAULT '',
    list_size         UInt16,
    position          UInt64
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(served_at)
ORDER BY (user_id, item_id, served_at, recommendation_id);
