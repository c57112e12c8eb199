-- The platform's own data beside the billing ledger: tenants (one SIP domain and one dialplan
-- context each), their extensions, and their call-center queues and IVR menus. Versions start
-- at 1001 so they never collide with the ledger's migrations in the same database.
CREATE TABLE tenants (
    tenant TEXT PRIMARY KEY,
    domain TEXT NOT NULL UNIQUE,
    context TEXT NOT NULL UNIQUE,
    -- The sofia gateway for calls to outside numbers; none means such calls are refused.
    gateway TEXT,
    -- Calls are limited to what the tenant's balance pays for.
    prepaid INTEGER NOT NULL DEFAULT 0,
    record_calls INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE extensions (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    extension TEXT NOT NULL,
    -- One of the two: FreeSWITCH accepts either.
    password TEXT,
    a1_hash TEXT,
    caller_id_name TEXT,
    caller_id_number TEXT,
    record_calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, extension)
);

CREATE TABLE cc_queues (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    name TEXT NOT NULL,
    strategy TEXT NOT NULL DEFAULT 'longest-idle-agent',
    moh_sound TEXT,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE cc_agents (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    name TEXT NOT NULL,
    contact TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Available',
    PRIMARY KEY (tenant, name)
);

CREATE TABLE cc_tiers (
    tenant TEXT NOT NULL,
    queue TEXT NOT NULL,
    agent TEXT NOT NULL,
    level INTEGER NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (tenant, queue, agent),
    FOREIGN KEY (tenant, queue) REFERENCES cc_queues (tenant, name),
    FOREIGN KEY (tenant, agent) REFERENCES cc_agents (tenant, name)
);

CREATE TABLE ivr_menus (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    name TEXT NOT NULL,
    greet_long TEXT NOT NULL,
    greet_short TEXT NOT NULL,
    invalid_sound TEXT NOT NULL DEFAULT 'ivr/ivr-that_was_an_invalid_entry.wav',
    exit_sound TEXT NOT NULL DEFAULT 'voicemail/vm-goodbye.wav',
    timeout_ms INTEGER NOT NULL DEFAULT 10000,
    max_failures INTEGER NOT NULL DEFAULT 3,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE ivr_entries (
    tenant TEXT NOT NULL,
    menu TEXT NOT NULL,
    digits TEXT NOT NULL,
    action TEXT NOT NULL,
    param TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant, menu, digits),
    FOREIGN KEY (tenant, menu) REFERENCES ivr_menus (tenant, name)
);
