-- Experiment definitions: a versioned aggregate (optimistic concurrency). `state` is the folded state of the
-- decider in ingest/experiments (definition, status, who and when), so reads never replay the change log.
CREATE TABLE IF NOT EXISTS experiments (
  key         text PRIMARY KEY,
  version     integer     NOT NULL CHECK (version > 0),
  status      text        NOT NULL CHECK (status IN ('draft', 'running', 'stopped', 'archived')),
  state       jsonb       NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS experiments_status ON experiments (status, key);

-- The audit log: one row per accepted change, numbered by the version it produced. The primary key on
-- (key, version) is a second guard against two writers both producing the same version.
CREATE TABLE IF NOT EXISTS experiment_changes (
  key         text        NOT NULL REFERENCES experiments (key),
  version     integer     NOT NULL CHECK (version > 0),
  event_type  text        NOT NULL,
  api_key_id  text        NOT NULL,
  at          timestamptz NOT NULL,
  change      jsonb       NOT NULL,
  event_id    uuid        NOT NULL UNIQUE,
  PRIMARY KEY (key, version)
);
