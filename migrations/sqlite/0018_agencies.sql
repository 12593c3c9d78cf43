-- Agencies as tenants (docs/tenancy.md). Every record belongs to one
-- agency; what was the one agency's is agency 1's. Tables whose keys must
-- now hold per agency (badges, course names, report numbers, measure
-- codes, the audit chain's sequence) are rebuilt, the others gain a column.
--
-- The column `agency_id` defaults to 0, which names no agency: an insert
-- that forgets it fails on the foreign key instead of landing in agency 1.
--
-- SQLite rebuilds a table by copying it, dropping the original and
-- renaming the copy, with foreign keys off (SQLite's documented procedure):
-- src/db.rs runs the migrations on a connection of their own without
-- foreign key enforcement, then checks every reference (foreign_key_check).

-- The agency: many rows now, each ORI at most once.
CREATE TABLE agency_new (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL DEFAULT '',
    ori                TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL DEFAULT '',
    models             TEXT NOT NULL DEFAULT '',
    agreement_signed   TEXT,
    agreement_renewed  TEXT,
    login_banner       TEXT NOT NULL,
    time_zone          TEXT NOT NULL DEFAULT 'America/New_York',
    mfa_policy         TEXT NOT NULL DEFAULT 'administrators'
        CHECK (mfa_policy IN ('everyone', 'administrators', 'optional')),
    sign_off_days      INTEGER NOT NULL DEFAULT 3,
    population_shares  TEXT NOT NULL DEFAULT '',
    latitude           REAL,
    longitude          REAL,
    paper_size         TEXT NOT NULL DEFAULT 'letter'
);
INSERT INTO agency_new SELECT * FROM agency;
DROP TABLE agency;
ALTER TABLE agency_new RENAME TO agency;
CREATE UNIQUE INDEX agency_ori ON agency (ori) WHERE ori <> '';

-- Users: an agency's users belong to it; state users (no agency) hold the
-- state roles.
ALTER TABLE users ADD COLUMN agency_id INTEGER REFERENCES agency (id);
UPDATE users SET agency_id = 1;
CREATE INDEX users_agency ON users (agency_id);

CREATE TABLE user_roles_new (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('administrator', 'clerk', 'supervisor', 'reviewer', 'auditor',
                                           'state-administrator', 'state-reviewer', 'state-auditor')),
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_new SELECT * FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_new RENAME TO user_roles;

-- Officers: a badge is unique within its agency.
CREATE TABLE officers_new (
    id                   INTEGER PRIMARY KEY,
    badge                TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    rank                 TEXT NOT NULL DEFAULT '',
    unit                 TEXT NOT NULL DEFAULT '',
    hire_date            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'separated')),
    supervisor_id        INTEGER REFERENCES officers (id),
    annual_salary_cents  INTEGER,
    agency_id            INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (agency_id, badge)
);
INSERT INTO officers_new SELECT *, 1 FROM officers;
DROP TABLE officers;
ALTER TABLE officers_new RENAME TO officers;
CREATE INDEX officers_name ON officers (agency_id, last_name, first_name);

-- Courses: a name is unique within its agency.
CREATE TABLE courses_new (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('initial', 'refresher', 'agency')),
    -- Comma-separated models the course applies to; empty means every model.
    models                TEXT NOT NULL DEFAULT '',
    required_hours        REAL NOT NULL,
    max_hours             REAL NOT NULL,
    -- Months a completion stays valid; NULL for a course taken once.
    validity_months       INTEGER,
    pass_mark             INTEGER NOT NULL DEFAULT 70,
    remediation_attempts  INTEGER NOT NULL DEFAULT 1,
    active                INTEGER NOT NULL DEFAULT 1,
    effective_on          TEXT,
    agency_id             INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (agency_id, name)
);
INSERT INTO courses_new SELECT *, 1 FROM courses;
DROP TABLE courses;
ALTER TABLE courses_new RENAME TO courses;

-- Issued reports: numbered per agency; still never changed.
CREATE TABLE reports_new (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    generated_at  INTEGER NOT NULL,
    generated_by  TEXT NOT NULL,
    data_sha256   TEXT NOT NULL,
    audit_seq     INTEGER NOT NULL,
    audit_head    TEXT NOT NULL,
    file_sha256   TEXT NOT NULL UNIQUE,
    -- The stored file's name in the file store.
    file_name     TEXT NOT NULL,
    size          INTEGER NOT NULL,
    data_form     TEXT NOT NULL DEFAULT 'v1',
    agency_id     INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (agency_id, number)
);
INSERT INTO reports_new SELECT *, 1 FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be changed'); END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be deleted'); END;

-- Logged measures: a code is unique within its agency.
CREATE TABLE logged_measures_new (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    unit        TEXT NOT NULL CHECK (unit IN ('count', 'percent', 'dollars', 'hours', 'days')),
    target      REAL,
    better      TEXT NOT NULL CHECK (better IN ('higher', 'lower')),
    source      TEXT NOT NULL,
    agency_id   INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (agency_id, code)
);
INSERT INTO logged_measures_new SELECT *, 1 FROM logged_measures;
DROP TABLE logged_measures;
ALTER TABLE logged_measures_new RENAME TO logged_measures;

-- The audit log: one hash chain per agency, numbered from 1 in each, and
-- chain 0 for what the state does. Agency 1's chain is the log as it was,
-- so every issued report's audit head still names an entry of it.
CREATE TABLE audit_log_new (
    seq          INTEGER NOT NULL,
    at_us        INTEGER NOT NULL,
    user_id      INTEGER,
    username     TEXT NOT NULL,
    roles        TEXT NOT NULL,
    source       TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_kind  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    details      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    agency_id    INTEGER NOT NULL,
    PRIMARY KEY (agency_id, seq)
);
INSERT INTO audit_log_new SELECT *, 1 FROM audit_log ORDER BY seq;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_object ON audit_log (agency_id, object_kind, object_id);
CREATE INDEX audit_user ON audit_log (agency_id, username);
CREATE INDEX audit_at ON audit_log (at_us);
CREATE INDEX audit_user_id ON audit_log (user_id, action);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

-- Every other record table gains its agency.
ALTER TABLE designations ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE designations SET agency_id = 1;
ALTER TABLE training_records ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE training_records SET agency_id = 1;
ALTER TABLE documents ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE documents SET agency_id = 1;
ALTER TABLE document_versions ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE document_versions SET agency_id = 1;
ALTER TABLE stops ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE stops SET agency_id = 1;
ALTER TABLE arrests ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE arrests SET agency_id = 1;
ALTER TABLE complaints ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE complaints SET agency_id = 1;
ALTER TABLE pay_periods ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE pay_periods SET agency_id = 1;
ALTER TABLE leads ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE leads SET agency_id = 1;
ALTER TABLE logged_values ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE logged_values SET agency_id = 1;

-- The append-only tables are stamped with their agency once, here, with
-- their rule lifted for that one statement.
DROP TRIGGER sign_offs_no_update;
ALTER TABLE sign_offs ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE sign_offs SET agency_id = 1;
CREATE TRIGGER sign_offs_no_update BEFORE UPDATE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'sign-offs cannot be changed, only superseded'); END;
DROP TRIGGER report_comments_no_update;
ALTER TABLE report_comments ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id);
UPDATE report_comments SET agency_id = 1;
CREATE TRIGGER report_comments_no_update BEFORE UPDATE ON report_comments
BEGIN SELECT RAISE(ABORT, 'comments cannot be changed'); END;

-- The stop list reads one agency's stops in date order.
DROP INDEX stops_list;
DROP INDEX stops_searched;
DROP INDEX stops_287g;
CREATE INDEX stops_list ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id, searched, perceived_race,
    stop_type, action_287g, officer_id, district);
CREATE INDEX stops_searched ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id, perceived_race, stop_type,
    action_287g, officer_id, district) WHERE searched = 1;
CREATE INDEX stops_287g ON stops (agency_id, stop_date, COALESCE(stop_time, ''), id) WHERE action_287g = 1;

-- Derived tables, per agency: the districts in use and the aggregates of
-- migration 0017 (moved, not rebuilt: they are agency 1's).
CREATE TABLE stop_districts_new (
    agency_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (agency_id, name)
) WITHOUT ROWID;
INSERT INTO stop_districts_new SELECT 1, name FROM stop_districts;
DROP TABLE stop_districts;
ALTER TABLE stop_districts_new RENAME TO stop_districts;

CREATE TABLE stop_tallies_new (
    agency_id  INTEGER NOT NULL,
    day        TEXT NOT NULL,
    grouping   TEXT NOT NULL,
    grp        TEXT NOT NULL,
    stops      INTEGER NOT NULL,
    searches   INTEGER NOT NULL,
    hits       INTEGER NOT NULL,
    arrests    INTEGER NOT NULL,
    force      INTEGER NOT NULL,
    no_action  INTEGER NOT NULL,
    inquiries  INTEGER NOT NULL,
    complete   INTEGER NOT NULL,
    timed      INTEGER NOT NULL,
    PRIMARY KEY (agency_id, day, grouping, grp)
) WITHOUT ROWID;
INSERT INTO stop_tallies_new SELECT 1, * FROM stop_tallies;
DROP TABLE stop_tallies;
ALTER TABLE stop_tallies_new RENAME TO stop_tallies;

CREATE TABLE stop_minutes_new (
    agency_id INTEGER NOT NULL,
    day       TEXT NOT NULL,
    minute    INTEGER NOT NULL,
    minority  INTEGER NOT NULL,
    stops     INTEGER NOT NULL,
    PRIMARY KEY (agency_id, day, minute, minority)
) WITHOUT ROWID;
INSERT INTO stop_minutes_new SELECT 1, * FROM stop_minutes;
DROP TABLE stop_minutes;
ALTER TABLE stop_minutes_new RENAME TO stop_minutes;

CREATE TABLE stop_digests_new (
    agency_id INTEGER NOT NULL,
    day       TEXT NOT NULL,
    stops     INTEGER NOT NULL,
    sum       BLOB NOT NULL,
    PRIMARY KEY (agency_id, day)
) WITHOUT ROWID;
INSERT INTO stop_digests_new SELECT 1, * FROM stop_digests;
DROP TABLE stop_digests;
ALTER TABLE stop_digests_new RENAME TO stop_digests;

CREATE TABLE arrest_digests_new (
    agency_id INTEGER NOT NULL,
    day       TEXT NOT NULL,
    arrests   INTEGER NOT NULL,
    sum       BLOB NOT NULL,
    PRIMARY KEY (agency_id, day)
) WITHOUT ROWID;
INSERT INTO arrest_digests_new SELECT 1, * FROM arrest_digests;
DROP TABLE arrest_digests;
ALTER TABLE arrest_digests_new RENAME TO arrest_digests;

-- Whether each agency's aggregates are built, and its minutes band (its
-- place decides where dusk falls).
CREATE TABLE stop_aggregates_new (
    agency_id  INTEGER PRIMARY KEY,
    built      INTEGER NOT NULL,
    band_from  INTEGER,
    band_to    INTEGER
);
INSERT INTO stop_aggregates_new SELECT 1, built, band_from, band_to FROM stop_aggregates;
DROP TABLE stop_aggregates;
ALTER TABLE stop_aggregates_new RENAME TO stop_aggregates;


-- The planner's statistics of the stop indexes (sampled: 400 rows an
-- index), so that a searched list of one agency reads the partial index of
-- searched stops (src/stops/store.rs, `note_sizes`).
PRAGMA analysis_limit = 400;
ANALYZE stops;
