-- Time-of-day routing: a schedule chooses a DID's route by the time in its tenant's time zone.
-- Its rules are tried in order (days as a bit mask, Monday = 1 ... Sunday = 64; minutes of the
-- day, start included, end excluded); when none applies, the otherwise route. A DID routes to
-- a schedule with route 'schedule'.
CREATE TABLE schedules (
    tenant TEXT COLLATE "C" NOT NULL REFERENCES tenants (tenant),
    name TEXT COLLATE "C" NOT NULL,
    otherwise_route TEXT NOT NULL,
    otherwise_target TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE schedule_rules (
    tenant TEXT COLLATE "C" NOT NULL,
    schedule TEXT COLLATE "C" NOT NULL,
    position INTEGER NOT NULL,
    days INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    route TEXT NOT NULL,
    target TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, schedule, position),
    FOREIGN KEY (tenant, schedule) REFERENCES schedules (tenant, name)
);
