-- Money is stored in micro-units (1e-6 of the currency) as BIGINT: exact, and summable in SQL.
CREATE TABLE rate_plans (
    id TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    rounding TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL DEFAULT 0,
    fallback TEXT,
    rates_csv TEXT NOT NULL
);

CREATE TABLE accounts (
    tenant TEXT PRIMARY KEY,
    currency TEXT NOT NULL,
    rate_plan TEXT NOT NULL REFERENCES rate_plans (id),
    balance_micros BIGINT NOT NULL DEFAULT 0,
    credit_limit_micros BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cdrs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL,
    leg TEXT NOT NULL,
    tenant TEXT NOT NULL,
    switchname TEXT,
    start_us BIGINT,
    answer_us BIGINT,
    end_us BIGINT,
    billsec BIGINT NOT NULL,
    billmsec BIGINT,
    caller TEXT,
    destination TEXT,
    hangup_cause TEXT,
    outcome TEXT NOT NULL,
    raw TEXT NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    UNIQUE (uuid, leg)
);
CREATE INDEX cdrs_by_tenant_time ON cdrs (tenant, start_us, id);

CREATE TABLE charges (
    cdr_id BIGINT PRIMARY KEY REFERENCES cdrs (id),
    plan TEXT NOT NULL,
    prefix TEXT NOT NULL,
    rate_per_minute TEXT NOT NULL,
    billed_seconds BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL
);

CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant TEXT NOT NULL REFERENCES accounts (tenant),
    kind TEXT NOT NULL,
    amount_micros BIGINT NOT NULL,
    balance_after_micros BIGINT NOT NULL,
    cdr_id BIGINT REFERENCES cdrs (id),
    reference TEXT,
    created_at_us BIGINT NOT NULL,
    UNIQUE (tenant, kind, reference)
);
CREATE INDEX transactions_by_tenant ON transactions (tenant, id);

CREATE TABLE recordings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_uuid TEXT NOT NULL,
    tenant TEXT NOT NULL,
    object_key TEXT NOT NULL UNIQUE,
    size_bytes BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    bitrate_kbps INTEGER NOT NULL,
    created_at_us BIGINT NOT NULL
);
CREATE INDEX recordings_by_call ON recordings (call_uuid);
