-- Numbers a tenant owns on its trunks, unique platform-wide: what its extensions may present as
-- caller ID (beside their own names).
CREATE TABLE dids (
    number TEXT PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES tenants (tenant)
);
