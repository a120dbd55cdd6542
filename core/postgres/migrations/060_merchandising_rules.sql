-- Merchandising rules (pin, boost, bury): a versioned aggregate (optimistic concurrency) written by the rules
-- API (ingest/rules). `state` is the decider's folded state; serving loads the active rules and reloads them when
-- the change log's `seq` moves (NOTIFY reckon_merchandising_rules, and a poll as the safety net).
CREATE TABLE IF NOT EXISTS merchandising_rules (
  id          text PRIMARY KEY,
  version     integer     NOT NULL CHECK (version > 0),
  status      text        NOT NULL CHECK (status IN ('active', 'deleted')),
  state       jsonb       NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS merchandising_rules_status ON merchandising_rules (status, created_at);

-- The change history: one row per accepted change, numbered by the version it produced; (rule_id, version) is a
-- second guard against two writers producing the same version. `seq` orders every change of every rule.
CREATE TABLE IF NOT EXISTS merchandising_rule_changes (
  seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  rule_id     text        NOT NULL REFERENCES merchandising_rules (id),
  version     integer     NOT NULL CHECK (version > 0),
  event_type  text        NOT NULL,
  api_key_id  text        NOT NULL,
  at          timestamptz NOT NULL,
  change      jsonb       NOT NULL,
  PRIMARY KEY (rule_id, version)
);
