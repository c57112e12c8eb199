-- Rate plan versions: a CDR is rated by the plan in force when its call was answered. The
-- plan's row holds the version in force from valid_from_us on; each version it replaced is
-- kept with the time span it was in force, [valid_from_us, valid_until_us). A plan's first
-- version is in force for any earlier call too (nothing else was).
ALTER TABLE rate_plans ADD COLUMN valid_from_us BIGINT NOT NULL DEFAULT 0;

CREATE TABLE rate_plan_versions (
    plan TEXT NOT NULL REFERENCES rate_plans (id),
    valid_from_us BIGINT NOT NULL,
    valid_until_us BIGINT NOT NULL,
    currency TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    rounding TEXT NOT NULL,
    utc_offset_minutes INTEGER NOT NULL,
    fallback TEXT,
    rates_csv TEXT NOT NULL,
    PRIMARY KEY (plan, valid_from_us)
);
