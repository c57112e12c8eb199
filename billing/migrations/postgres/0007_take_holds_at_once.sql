-- A burst of authorisations of one tenant as one statement, run outside any explicit
-- transaction so that its commit follows its last step on the server: the account row is
-- locked by that last step only, and no round trip to the client happens while the lock is
-- held (with an explicit transaction, the COMMIT waited for the client, and a busy client is
-- scheduled late).
--
-- `batch` is a JSON array of [call_uuid, destination, rated_at, seconds, amount_micros]
-- (full first slices). Calls that have a hold already (by the unique index) are left out:
-- the caller answers them with their holds. The new holds' cost is added to the account only
-- if balance + credit limit still covers it (checked on the row's latest version); when it
-- does not, the function raises SQLSTATE LH001 and nothing it wrote remains: the caller then
-- writes the holds in a transaction, locks the account and cuts them to what is left, in
-- order. A batch that the account as last committed cannot cover (a hint, read without a
-- lock: the UPDATE decides), or a tenant without an account, gets one row of NULLs before
-- anything is written: the same answer, without an error in the server's log each time a
-- tenant out of credit calls (a batch that loses the credit to another under the lock still
-- raises, and is logged). Sums are taken as NUMERIC, so no credit limit overflows them.
-- The function resolves tables by the search_path it was created with (the migration's).
CREATE FUNCTION take_holds_at_once(batch_tenant TEXT, batch_now BIGINT, batch JSONB)
RETURNS TABLE (hold_id BIGINT, hold_call TEXT, hold_destination TEXT)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    total BIGINT := 0;
    spendable NUMERIC;
    written RECORD;
BEGIN
    SELECT CAST(balance_micros AS NUMERIC) + credit_limit_micros - held_micros INTO spendable
    FROM accounts WHERE tenant = batch_tenant;
    IF spendable IS NULL OR spendable <
        (SELECT COALESCE(SUM(CAST(e ->> 4 AS BIGINT)), 0) FROM jsonb_array_elements(batch) AS e)
    THEN
        hold_id := NULL;
        hold_call := NULL;
        hold_destination := NULL;
        RETURN NEXT;
        RETURN;
    END IF;
    FOR written IN
        INSERT INTO holds (tenant, call_uuid, destination, rated_at, seconds, amount_micros,
                           state, created_us, touched_us)
        SELECT batch_tenant, e ->> 0, e ->> 1, CAST(e ->> 2 AS BIGINT), CAST(e ->> 3 AS BIGINT),
               CAST(e ->> 4 AS BIGINT), 'open', batch_now, batch_now
        FROM jsonb_array_elements(batch) AS e
        WHERE NOT EXISTS (
            SELECT 1 FROM holds AS h WHERE h.call_uuid = e ->> 0 AND h.destination = e ->> 1)
        RETURNING holds.id, holds.call_uuid, holds.destination, holds.amount_micros
    LOOP
        total := total + written.amount_micros;
        hold_id := written.id;
        hold_call := written.call_uuid;
        hold_destination := written.destination;
        RETURN NEXT;
    END LOOP;
    IF total > 0 THEN
        UPDATE accounts SET held_micros = held_micros + total
        WHERE tenant = batch_tenant
          AND CAST(balance_micros AS NUMERIC) + credit_limit_micros - held_micros >= total;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'the credit does not cover the batch' USING ERRCODE = 'LH001';
        END IF;
    END IF;
END;
$$;
