-- The catalog read models (projectors/search): full-text search and item detail, each its own projection with
-- versions side by side (a rebuild writes version N+1 while readers and the live consumer use N).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Which version readers and the live consumer use, per projection (absent means 1).
CREATE TABLE IF NOT EXISTS catalog_read_versions (
  projection  text PRIMARY KEY,
  version     integer NOT NULL
);

-- The last log position applied per source (topic:partition, or the rebuild's own), stored in the transaction of
-- the effects it covers: a redelivered message at or below it is skipped.
CREATE TABLE IF NOT EXISTS catalog_read_applied (
  projection      text    NOT NULL,
  version         integer NOT NULL,
  source          text    NOT NULL,
  transaction_id  numeric(20, 0) NOT NULL,
  position        bigint  NOT NULL,
  PRIMARY KEY (projection, version, source)
);

-- One row per catalog item: the searchable text (title weight A, text attributes weight B, 'simple' config so
-- names and codes are not stemmed away), the filters and facet values ("key=value" of scalar attributes).
CREATE TABLE IF NOT EXISTS search_documents (
  version       integer  NOT NULL,
  item_id       text     NOT NULL,
  item_version  integer  NOT NULL,
  title         text     NOT NULL,
  categories    text[]   NOT NULL,
  attributes    jsonb    NOT NULL,
  facet_values  text[]   NOT NULL,
  available     boolean  NOT NULL,
  document      tsvector NOT NULL,
  PRIMARY KEY (version, item_id)
);
CREATE INDEX IF NOT EXISTS search_documents_document ON search_documents USING GIN (document);
CREATE INDEX IF NOT EXISTS search_documents_categories ON search_documents USING GIN (categories);
CREATE INDEX IF NOT EXISTS search_documents_facets ON search_documents USING GIN (facet_values);

-- The vocabulary of every indexed word, with a trigram index: a query word with a typo is matched to the
-- words it is close to, which then go into the full-text query.
CREATE TABLE IF NOT EXISTS search_terms (
  version  integer NOT NULL,
  term     text    NOT NULL,
  PRIMARY KEY (version, term)
);
CREATE INDEX IF NOT EXISTS search_terms_trigrams ON search_terms USING GIN (term gin_trgm_ops);

-- Item detail: the item as last changed, its interaction counts by type and its decayed popularity, kept as
-- order-independent window counters (projectors/runtime/decay.ts) per horizon (s = short, l = long).
CREATE TABLE IF NOT EXISTS item_details (
  version       integer NOT NULL,
  item_id       text    NOT NULL,
  item_version  integer NOT NULL,
  item          jsonb   NOT NULL,
  PRIMARY KEY (version, item_id)
);
CREATE TABLE IF NOT EXISTS item_detail_counts (
  version  integer NOT NULL,
  item_id  text    NOT NULL,
  type     text    NOT NULL,
  count    bigint  NOT NULL,
  PRIMARY KEY (version, item_id, type)
);
CREATE TABLE IF NOT EXISTS item_detail_popularity (
  version  integer NOT NULL,
  item_id  text    NOT NULL,
  horizon  text    NOT NULL,
  window_index bigint NOT NULL,
  value    bigint  NOT NULL,
  PRIMARY KEY (version, item_id, horizon, window_index)
);
