-- Holdout definitions: a versioned aggregate like experiments (optimistic concurrency). `state` is the
-- folded state of the decider in ingest/holdouts. `experiments` repeats the covered keys so assignment
-- finds the holdouts of an experiment by index.
CREATE TABLE IF NOT EXISTS holdouts (
  key         text PRIMARY KEY,
  version     integer     NOT NULL CHECK (version > 0),
  experiments text[]      NOT NULL,
  state       jsonb       NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS holdouts_experiments ON holdouts USING gin (experiments);

-- The audit log: one row per accepted change, numbered by the version it produced.
CREATE TABLE IF NOT EXISTS holdout_changes (
  key         text        NOT NULL REFERENCES holdouts (key),
  version     integer     NOT NULL CHECK (version > 0),
  event_type  text        NOT NULL,
  api_key_id  text        NOT NULL,
  at          timestamptz NOT NULL,
  change      jsonb       NOT NULL,
  PRIMARY KEY (key, version)
);
