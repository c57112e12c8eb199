-- Prepaid credit reserved for calls in progress, a slice at a time. What a prepaid tenant may
-- still spend is balance + credit limit minus every open hold; a hold is taken or extended
-- only under its account row's lock, and leaves `open` exactly once: settled by its call's
-- charged CDR, or expired once its call is known to be gone.
CREATE TABLE holds (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT NOT NULL REFERENCES accounts (tenant),
    call_uuid TEXT COLLATE "C" NOT NULL,
    destination TEXT COLLATE "C" NOT NULL,
    rated_at BIGINT NOT NULL,
    seconds BIGINT NOT NULL,
    amount_micros BIGINT NOT NULL,
    state TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    touched_us BIGINT NOT NULL,
    closed_us BIGINT,
    cdr_id BIGINT,
    UNIQUE (call_uuid, destination)
);
CREATE INDEX holds_open_by_tenant ON holds (tenant) WHERE state = 'open';
CREATE INDEX holds_open_by_touch ON holds (touched_us) WHERE state = 'open';
