-- Agencies as tenants (docs/tenancy.md): the same schema as
-- migrations/sqlite/0018_agencies.sql. PostgreSQL alters in place what
-- SQLite must rebuild; columns are added at the end on both, so the two
-- schemas keep their column order.
--
-- `agency_id` defaults to 0, which names no agency: an insert that forgets
-- it fails on the foreign key instead of landing in agency 1. Existing rows
-- are agency 1's (added with default 1, then the default set to 0;
-- ADD COLUMN with a default fires no row trigger, so the append-only
-- tables need no exception).

ALTER TABLE agency DROP CONSTRAINT agency_id_check;
CREATE UNIQUE INDEX agency_ori ON agency (ori) WHERE ori <> '';

ALTER TABLE users ADD COLUMN agency_id BIGINT REFERENCES agency (id);
UPDATE users SET agency_id = 1;
CREATE INDEX users_agency ON users (agency_id);

ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check CHECK (role IN ('administrator', 'clerk', 'supervisor',
    'reviewer', 'auditor', 'state-administrator', 'state-reviewer', 'state-auditor'));

CREATE FUNCTION pg_temp.belong_to_agency(tables TEXT[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN agency_id BIGINT NOT NULL DEFAULT 1 REFERENCES agency (id)', t);
        EXECUTE format('ALTER TABLE %I ALTER COLUMN agency_id SET DEFAULT 0', t);
    END LOOP;
END $$;
SELECT pg_temp.belong_to_agency(ARRAY['officers', 'courses', 'reports', 'logged_measures', 'designations',
    'training_records', 'documents', 'document_versions', 'stops', 'arrests', 'complaints', 'pay_periods', 'leads',
    'logged_values', 'sign_offs', 'report_comments']);

ALTER TABLE officers DROP CONSTRAINT officers_badge_key;
ALTER TABLE officers ADD CONSTRAINT officers_badge_key UNIQUE (agency_id, badge);
DROP INDEX officers_name;
CREATE INDEX officers_name ON officers (agency_id, last_name, first_name);
ALTER TABLE courses DROP CONSTRAINT courses_name_key;
ALTER TABLE courses ADD CONSTRAINT courses_name_key UNIQUE (agency_id, name);
ALTER TABLE reports DROP CONSTRAINT reports_number_key;
ALTER TABLE reports ADD CONSTRAINT reports_number_key UNIQUE (agency_id, number);
ALTER TABLE logged_measures DROP CONSTRAINT logged_measures_code_key;
ALTER TABLE logged_measures ADD CONSTRAINT logged_measures_code_key UNIQUE (agency_id, code);

-- One hash chain per agency, numbered from 1 in each; chain 0 is the
-- state's. Agency 1's chain is the log as it was.
ALTER TABLE audit_log ADD COLUMN agency_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_log ALTER COLUMN agency_id DROP DEFAULT;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
ALTER TABLE audit_log ADD PRIMARY KEY (agency_id, seq);
DROP INDEX audit_object;
DROP INDEX audit_user;
CREATE INDEX audit_object ON audit_log (agency_id, object_kind, object_id);
CREATE INDEX audit_user ON audit_log (agency_id, username);

DROP INDEX stops_list;
DROP INDEX stops_searched;
DROP INDEX stops_287g;
CREATE INDEX stops_list ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id, searched, perceived_race,
    stop_type, action_287g, officer_id, district);
CREATE INDEX stops_searched ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id, perceived_race, stop_type,
    action_287g, officer_id, district) WHERE searched = 1;
CREATE INDEX stops_287g ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id) WHERE action_287g = 1;

-- Derived tables, per agency (moved, not rebuilt: they are agency 1's).
CREATE TABLE stop_districts_new (
    agency_id  BIGINT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (agency_id, name)
);
INSERT INTO stop_districts_new SELECT 1, name FROM stop_districts;
DROP TABLE stop_districts;
ALTER TABLE stop_districts_new RENAME TO stop_districts;
ALTER INDEX stop_districts_new_pkey RENAME TO stop_districts_pkey;

CREATE TABLE stop_tallies_new (
    agency_id  BIGINT NOT NULL,
    day        TEXT NOT NULL,
    grouping   TEXT NOT NULL,
    grp        TEXT NOT NULL,
    stops      BIGINT NOT NULL,
    searches   BIGINT NOT NULL,
    hits       BIGINT NOT NULL,
    arrests    BIGINT NOT NULL,
    force      BIGINT NOT NULL,
    no_action  BIGINT NOT NULL,
    inquiries  BIGINT NOT NULL,
    complete   BIGINT NOT NULL,
    timed      BIGINT NOT NULL,
    PRIMARY KEY (agency_id, day, grouping, grp)
);
INSERT INTO stop_tallies_new SELECT 1, * FROM stop_tallies;
DROP TABLE stop_tallies;
ALTER TABLE stop_tallies_new RENAME TO stop_tallies;
ALTER INDEX stop_tallies_new_pkey RENAME TO stop_tallies_pkey;

CREATE TABLE stop_minutes_new (
    agency_id BIGINT NOT NULL,
    day       TEXT NOT NULL,
    minute    BIGINT NOT NULL,
    minority  BIGINT NOT NULL,
    stops     BIGINT NOT NULL,
    PRIMARY KEY (agency_id, day, minute, minority)
);
INSERT INTO stop_minutes_new SELECT 1, * FROM stop_minutes;
DROP TABLE stop_minutes;
ALTER TABLE stop_minutes_new RENAME TO stop_minutes;
ALTER INDEX stop_minutes_new_pkey RENAME TO stop_minutes_pkey;

CREATE TABLE stop_digests_new (
    agency_id BIGINT NOT NULL,
    day       TEXT NOT NULL,
    stops     BIGINT NOT NULL,
    sum       BYTEA NOT NULL,
    PRIMARY KEY (agency_id, day)
);
INSERT INTO stop_digests_new SELECT 1, * FROM stop_digests;
DROP TABLE stop_digests;
ALTER TABLE stop_digests_new RENAME TO stop_digests;
ALTER INDEX stop_digests_new_pkey RENAME TO stop_digests_pkey;

CREATE TABLE arrest_digests_new (
    agency_id BIGINT NOT NULL,
    day       TEXT NOT NULL,
    arrests   BIGINT NOT NULL,
    sum       BYTEA NOT NULL,
    PRIMARY KEY (agency_id, day)
);
INSERT INTO arrest_digests_new SELECT 1, * FROM arrest_digests;
DROP TABLE arrest_digests;
ALTER TABLE arrest_digests_new RENAME TO arrest_digests;
ALTER INDEX arrest_digests_new_pkey RENAME TO arrest_digests_pkey;

CREATE TABLE stop_aggregates_new (
    agency_id  BIGINT PRIMARY KEY,
    built      BIGINT NOT NULL,
    band_from  BIGINT,
    band_to    BIGINT
);
INSERT INTO stop_aggregates_new SELECT 1, built, band_from, band_to FROM stop_aggregates;
DROP TABLE stop_aggregates;
ALTER TABLE stop_aggregates_new RENAME TO stop_aggregates;
ALTER INDEX stop_aggregates_new_pkey RENAME TO stop_aggregates_pkey;
