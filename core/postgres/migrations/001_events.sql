-- The event store and the outbox at once: append-only, one global position, and the id of the writing
-- transaction so that a tailing reader can read only below the oldest running transaction and never skip
-- a late commit (see ingest/relay/README.md).
CREATE TABLE IF NOT EXISTS events (
  position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  event_id        uuid        NOT NULL,
  kind            text        NOT NULL CHECK (kind IN ('interaction', 'catalog', 'experiment')),
  type            text        NOT NULL,
  user_id         text,
  item_id         text,
  occurred_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now(),
  payload         jsonb       NOT NULL,
  CONSTRAINT events_event_id_unique UNIQUE (event_id)
);
CREATE INDEX IF NOT EXISTS events_log_order ON events (transaction_id, position);

-- Catalog: a versioned aggregate (optimistic concurrency); every change is also an event.
CREATE TABLE IF NOT EXISTS items (
  item_id     text PRIMARY KEY,
  version     integer     NOT NULL,
  data        jsonb       NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Durable positions of the relay and of projectors that read the log (log order = (transaction_id, position)).
CREATE TABLE IF NOT EXISTS checkpoints (
  name            text PRIMARY KEY,
  transaction_id  xid8   NOT NULL,
  position        bigint NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
