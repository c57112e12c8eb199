-- Every write to what the roles cache is told to every process at once: they LISTEN on
-- `callcenter_platform` (platform::changes) and drop what they hold, whoever wrote (another
-- daemon, the command line, SQL by hand). The payload names the table. One notification per
-- statement, sent at commit (PostgreSQL folds identical ones within a transaction).
CREATE FUNCTION callcenter_platform_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callcenter_platform', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER tenants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER extensions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON extensions
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER dids_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dids
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER cc_queues_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cc_queues
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER ivr_menus_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ivr_menus
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER ivr_entries_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ivr_entries
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER ring_groups_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ring_groups
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER ring_group_members_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ring_group_members
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER schedules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schedules
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER schedule_rules_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schedule_rules
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER trunks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON trunks
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER api_users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_users
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER operators_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON operators
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
