-- Serving records every recommendation it answers in the log (kind 'recommendation', one row per answer,
-- event_id = the answer's recommendation_id), so analytics attributes later interactions to the list, the model
-- and the candidate source. NOT VALID: every existing row already satisfies the narrower rule it replaces, so
-- the table is not scanned.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
  CHECK (kind IN ('interaction', 'catalog', 'experiment', 'retraction', 'recommendation')) NOT VALID;
