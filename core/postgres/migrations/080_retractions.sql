-- Retractions (ingest/retraction): a retracted interaction stays in the log, and a compensating entry of
-- kind 'retraction' follows it, carrying a copy of the original so every projection can undo exactly what
-- it did. Its event_id is derived from the original's (UUIDv5), so the unique event_id makes a second
-- retraction of the same event a no-op. NOT VALID: existing rows already satisfy the narrower rule, and
-- re-checking the whole log would hold the table for nothing.
ALTER TABLE events DROP CONSTRAINT IF EXISTS events_kind_check;
ALTER TABLE events ADD CONSTRAINT events_kind_check
  CHECK (kind IN ('interaction', 'catalog', 'experiment', 'retraction')) NOT VALID;

-- Retraction filters select by user and time, and temporal reads read one user's log up to a time.
CREATE INDEX IF NOT EXISTS events_user_received ON events (user_id, received_at);

-- A retraction carries the categories its original was applied with: the item's latest catalog entry
-- before the original in log order.
CREATE INDEX IF NOT EXISTS events_catalog_item ON events (item_id, transaction_id, position) WHERE kind = 'catalog';
