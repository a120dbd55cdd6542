-- Erased users (projectors/erasure): the suppression record an erasure leaves behind. The user's interaction
-- events are deleted from `events`; what stays is the id and the erasing transaction's id, so that every
-- consumer still holding older copies (the Kafka topic until its retention passes, a projector that had not
-- read them yet) recognises them and skips them: events of `user_id` written by a transaction older than
-- `before_xid` are erased. Events the user sends after the erasure are new data and are kept.
CREATE TABLE IF NOT EXISTS user_erasures (
  user_id     text        PRIMARY KEY,
  before_xid  xid8        NOT NULL,
  erased_at   timestamptz NOT NULL DEFAULT now(),
  erasures    integer     NOT NULL DEFAULT 1
);
