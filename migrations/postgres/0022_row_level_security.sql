-- Row-level security: the second wall between agencies (docs/tenancy.md,
-- "Row-level security"). The first is the agency scope every store takes;
-- this one holds even for a query that forgets its `agency_id = …`.
--
-- Each statement the product sends runs with `oversight.agency` set
-- (src/db.rs, `Reach`): an agency's id for that agency's work, `all` for
-- the deployment's own (signing in, listing agencies, backups, copies).
-- Unset or empty, as on any connection the product did not prepare, no
-- row is visible and none can be written: the policies fail closed.
-- FORCE binds the tables' owner too; superusers and BYPASSRLS roles skip
-- every policy, so the product refuses to connect as one.
--
-- Not walled: `agency` and `deployment` (the deployment's settings, read
-- before anyone's agency is known), `user_roles` (a user's roles, read
-- with the user), and the state's own tables (`state_reports`,
-- `state_report_agencies`).
CREATE FUNCTION agency_wall(row_agency BIGINT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT CASE current_setting('oversight.agency', true)
        WHEN 'all' THEN true
        ELSE row_agency = CAST(NULLIF(current_setting('oversight.agency', true), '') AS BIGINT)
    END
$$;

DO $$
DECLARE
    walled TEXT;
BEGIN
    FOREACH walled IN ARRAY ARRAY[
        'arrest_digests', 'arrests', 'audit_log', 'complaints', 'courses', 'designations',
        'document_versions', 'documents', 'leads', 'logged_measures', 'logged_values', 'officers',
        'pay_periods', 'report_comments', 'reports', 'sign_offs', 'stop_aggregates', 'stop_digests',
        'stop_districts', 'stop_minutes', 'stop_tallies', 'stops', 'training_records', 'users'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', walled);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', walled);
        EXECUTE format(
            'CREATE POLICY agency_wall ON %I USING (agency_wall(agency_id)) WITH CHECK (agency_wall(agency_id))',
            walled
        );
    END LOOP;
END
$$;
