-- One active ESL worker per FreeSWITCH node (platform::leases): the worker holding a node's
-- unexpired lease acts on its events; the others stand by and take it over once it expires.
-- `term` grows with every new holder, so a holder can tell its lease was taken meanwhile.
-- Times are the database's own clock: the holders' clocks never compare.
CREATE TABLE esl_leases (
    node TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    term BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
