-- The legs each CDR names (bridge_uuid, originator, other_loopback_leg_uuid...): a call's legs
-- are found from any one of them, whichever way the link points.
CREATE TABLE cdr_links (
    cdr_id BIGINT NOT NULL,
    other_uuid TEXT NOT NULL,
    PRIMARY KEY (cdr_id, other_uuid)
);
CREATE INDEX cdr_links_by_other ON cdr_links (other_uuid);

-- CDRs nothing attributes to a tenant with an account: kept whole for the operator (never
-- shown to a tenant, never charged), so FreeSWITCH is answered 2xx and nothing piles up.
CREATE TABLE unassigned_cdrs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    leg TEXT NOT NULL,
    reason TEXT NOT NULL,
    named_tenant TEXT,
    switchname TEXT,
    context TEXT,
    domain TEXT,
    start_us BIGINT,
    answer_us BIGINT,
    billsec BIGINT NOT NULL,
    destination TEXT,
    links TEXT NOT NULL,
    raw TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    UNIQUE (uuid, leg)
);
