-- Trunks: the SIP gateways the operator adds, served to FreeSWITCH in the directory (a
-- profile's gateways domain, looked up with purpose=gateways) and named by tenants as their
-- way out. The password is FreeSWITCH's to send to the carrier, so it is stored as given; the
-- API never returns it and nothing logs it.
CREATE TABLE trunks (
    name TEXT PRIMARY KEY,
    profile TEXT NOT NULL,
    proxy TEXT NOT NULL,
    realm TEXT,
    username TEXT,
    password TEXT,
    register INTEGER NOT NULL DEFAULT 0,
    from_domain TEXT,
    caller_id_in_from INTEGER NOT NULL DEFAULT 0,
    expire_seconds INTEGER NOT NULL DEFAULT 3600,
    retry_seconds INTEGER NOT NULL DEFAULT 30
);

-- A disabled tenant keeps its data; its users are not served, its calls are refused.
ALTER TABLE tenants ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
