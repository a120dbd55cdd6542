-- Every command Reckon accepts or refuses (core/audit/audit-log.ts): who (the API key's id or a CLI
-- operator), what (an action name and its target), when, under which request, and how it ended.
-- Append-only: the trigger refuses UPDATE and DELETE, so a row once written is the record.
CREATE TABLE IF NOT EXISTS audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text        NOT NULL,            -- API key id (core/http/auth.ts keyId) or "cli:<user>"
  request_id  text,                            -- the HTTP request's id; NULL for CLI commands
  action      text        NOT NULL,            -- e.g. "catalog.upsert", "experiment.start", "user.erase"
  target      text,                            -- what it acted on (item id, experiment key, ...)
  outcome     text        NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
  details     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_action_at ON audit_log (action, at);
CREATE INDEX IF NOT EXISTS audit_log_actor_at ON audit_log (actor, at);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
