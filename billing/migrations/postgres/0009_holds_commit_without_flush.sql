-- take_holds_at_once with a fourth argument: whether the statement's commit waits for the
-- disk. With false, the hold's statement commits asynchronously (synchronous_commit = off for
-- its own transaction only: a transaction-local setting, which outlives this function's end
-- and ends with the commit it applies to). Every other transaction sees the holds at once;
-- only a crash of the server in the next moments can lose them (see billing's HoldCommit).
-- The three-argument function stays as it was, for daemons of the previous version.
CREATE FUNCTION take_holds_at_once(batch_tenant TEXT, batch_now BIGINT, batch JSONB,
                                   wait_for_flush BOOLEAN)
RETURNS TABLE (hold_id BIGINT, hold_call TEXT, hold_destination TEXT)
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    IF NOT wait_for_flush THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    RETURN QUERY SELECT * FROM take_holds_at_once(batch_tenant, batch_now, batch);
END;
$$;
