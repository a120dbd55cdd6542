-- The Postgres-tail log transport (core/log-transport/postgres-tail.ts): each projection's consumer reads the
-- events table directly and keeps its place here, and the records a projection refuses go to dead_letters.
CREATE TABLE IF NOT EXISTS log_consumer_positions (
  consumer                text        NOT NULL,  -- the projection's consumer name (group prefix + projection)
  topic                   text        NOT NULL,  -- the events topic name the read models store positions under
  partition               integer     NOT NULL,  -- always 0: the tail is one ordered stream
  transaction_id          xid8        NOT NULL,  -- everything up to (transaction_id, position) is handled
  position                bigint      NOT NULL,
  applied_transaction_id  xid8,                  -- the position the projection's store holds (state-loss check)
  applied_position        bigint,
  updated_at              timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, topic, partition)
);

CREATE TABLE IF NOT EXISTS dead_letters (
  id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at               timestamptz NOT NULL DEFAULT now(),
  projector        text        NOT NULL,
  source_topic     text        NOT NULL,
  source_partition integer     NOT NULL,
  source_offset    text        NOT NULL,  -- the tail's position token "<transaction>.<position>"
  key              text,
  value            text,
  reason           text        NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_projector_at ON dead_letters (projector, at);
