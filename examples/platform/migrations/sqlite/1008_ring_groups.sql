-- Ring groups: a name of a tenant's context that rings several of its extensions, all at once
-- ('simultaneous') or one after the other ('sequential'), each for ring_seconds. DIDs and IVR
-- entries reach it by its name (route and action 'group').
CREATE TABLE ring_groups (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    name TEXT NOT NULL,
    extension TEXT,
    strategy TEXT NOT NULL DEFAULT 'simultaneous',
    ring_seconds INTEGER NOT NULL DEFAULT 20,
    PRIMARY KEY (tenant, name)
);
CREATE UNIQUE INDEX ring_groups_by_extension ON ring_groups (tenant, extension);

CREATE TABLE ring_group_members (
    tenant TEXT NOT NULL,
    ring_group TEXT NOT NULL,
    extension TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tenant, ring_group, extension),
    FOREIGN KEY (tenant, ring_group) REFERENCES ring_groups (tenant, name)
);
