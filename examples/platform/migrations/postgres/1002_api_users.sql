-- Who may use the REST API: one tenant each, a role, and an Argon2 password hash (PHC string).
CREATE TABLE api_users (
    tenant TEXT NOT NULL REFERENCES tenants (tenant),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    -- The agent's own extension: click-to-call rings it first.
    extension TEXT,
    PRIMARY KEY (tenant, username)
);
