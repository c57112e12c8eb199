-- A CDR is charged at most once, enforced by the database; the same index finds a CDR's charge.
DROP INDEX transactions_by_cdr;
CREATE UNIQUE INDEX transactions_by_cdr ON transactions (cdr_id);
