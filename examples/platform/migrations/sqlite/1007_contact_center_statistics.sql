-- The contact center's day: each tenant's time zone (IANA name) says when its day starts;
-- each queue's service level is the share of callers answered within its threshold.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE cc_queues ADD COLUMN service_level_seconds INTEGER NOT NULL DEFAULT 20;

-- IVR entries are typed: action is the kind (extension, queue, menu, did, repeat, hangup)
-- and param what it names. The two raw actions with a typed equivalent are converted; any
-- other raw row is not served (the daemon says which).
UPDATE ivr_entries SET action = 'repeat', param = '' WHERE action = 'menu-top';
UPDATE ivr_entries SET action = 'hangup', param = '' WHERE action = 'menu-exit';

-- One row per caller that joined a queue (mod_callcenter's member UUID), written once when
-- it joins and completed once when it is answered or abandons: events seen twice (two
-- workers, a re-sync) change nothing, and the daily statistics are counted from these rows.
CREATE TABLE cc_members (
    member TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    queue TEXT NOT NULL,
    -- The tenant's day (YYYY-MM-DD in its time zone) when the caller joined.
    day TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    answered_at BIGINT,
    abandoned_at BIGINT
);
CREATE INDEX cc_members_by_day ON cc_members (tenant, day, queue);
