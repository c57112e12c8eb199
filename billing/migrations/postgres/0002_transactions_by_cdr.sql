-- Finding a CDR's charge transaction (the first outcome of a duplicate) must not scan.
CREATE INDEX transactions_by_cdr ON transactions (cdr_id);
