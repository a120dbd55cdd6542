-- The catalog as of its latest version per item, for breakdowns by category or attribute.
CREATE TABLE IF NOT EXISTS reckon.items
(
    item_id      String,
    version      UInt64,
    title        String DEFAULT '',
    categories   Array(LowCardinality(String)),
    attributes   String DEFAULT '{}',
    available    Bool,
    published_at Nullable(DateTime64(3, 'UTC')),
    updated_at   DateTime64(3, 'UTC'),
    position     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY item_id;
