-- Every daemon rates calls with the plans it loaded: a plan saved (a new version) or an
-- account moved to another plan by any process is told to every daemon (platform::changes),
-- which reloads its plans at once. A charge or a top-up changes only the balance: no
-- notification.
CREATE TRIGGER rate_plans_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_plans
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER rate_plan_versions_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_plan_versions
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
CREATE TRIGGER accounts_plan_changed AFTER INSERT OR DELETE OR UPDATE OF rate_plan ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION callcenter_platform_changed();
