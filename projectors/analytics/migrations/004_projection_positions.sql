-- How far each projection has applied each Kafka partition, written after the batch's rows. log_order
-- packs the log's order (transaction_id, position) into one UInt128 so ReplacingMergeTree keeps the
-- furthest row; readers still take the maximum, since merges are eventual.
CREATE TABLE IF NOT EXISTS reckon.projection_positions
(
    projection_name LowCardinality(String),
    topic          LowCardinality(String),
    partition      UInt32,
    log_order      UInt128,
    transaction_id UInt64,
    position       UInt64,
    applied_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(log_order)
ORDER BY (projection_name, topic, partition);
