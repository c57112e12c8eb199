-- A token names the version of its user's credentials: a new password, role or extension, or
-- the user's removal, revokes every token issued before.
ALTER TABLE api_users ADD COLUMN token_version INTEGER NOT NULL DEFAULT 0;

-- The platform's operators, above every tenant: top-ups, unassigned data.
CREATE TABLE operators (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0
);
