-- What a tenant's open holds add up to, kept on its account row and changed in the
-- transaction that opens, grows or closes a hold. An authorisation then reads everything it
-- needs from the row it locks (balance, credit limit, held), and on PostgreSQL a burst of
-- authorisations writes its holds first and locks the row last, with one conditional UPDATE
-- (held + cost <= balance + credit limit) just before its commit.
ALTER TABLE accounts ADD COLUMN held_micros BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET held_micros = COALESCE(
    (SELECT SUM(amount_micros) FROM holds WHERE holds.tenant = accounts.tenant AND holds.state = 'open'),
    0);
-- Holds are written only by the statements that read their tenant from its locked account
-- row, so the foreign key to accounts proves nothing more; its check, one per row while the
-- account row is locked, was most of the time a burst's insert held that lock.
ALTER TABLE holds DROP CONSTRAINT holds_tenant_fkey;
