-- Foundation schema: agency profile, users and roles, officers with their
-- 287(g) designations, and the hash-chained audit log.
-- Portable types only (INTEGER, TEXT): dates are TEXT YYYY-MM-DD, instants
-- are INTEGER unix seconds (audit times: microseconds), flags INTEGER 0/1.

CREATE TABLE agency (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    name               TEXT NOT NULL DEFAULT '',
    ori                TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL DEFAULT '',
    models             TEXT NOT NULL DEFAULT '',
    agreement_signed   TEXT,
    agreement_renewed  TEXT,
    login_banner       TEXT NOT NULL,
    time_zone          TEXT NOT NULL DEFAULT 'America/New_York'
);

CREATE TABLE users (
    id                    INTEGER PRIMARY KEY,
    username              TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    disabled              INTEGER NOT NULL DEFAULT 0,
    locked                INTEGER NOT NULL DEFAULT 0,
    failed_logins         INTEGER NOT NULL DEFAULT 0,
    first_failed_at       INTEGER,
    session_epoch         INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    last_login_at         INTEGER
);

CREATE TABLE user_roles (
    user_id  INTEGER NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('administrator', 'clerk', 'supervisor', 'reviewer', 'auditor')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE officers (
    id                   INTEGER PRIMARY KEY,
    badge                TEXT NOT NULL UNIQUE,
    last_name            TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    rank                 TEXT NOT NULL DEFAULT '',
    unit                 TEXT NOT NULL DEFAULT '',
    hire_date            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'separated')),
    supervisor_id        INTEGER REFERENCES officers (id),
    annual_salary_cents  INTEGER
);
CREATE INDEX officers_name ON officers (last_name, first_name);

-- One row per designation period: a withdrawn officer who is later
-- re-authorized gets a new row, so the old period stays on the record.
CREATE TABLE designations (
    id                      INTEGER PRIMARY KEY,
    officer_id              INTEGER NOT NULL REFERENCES officers (id),
    model                   TEXT NOT NULL CHECK (model IN ('JEM', 'TFM', 'WSO')),
    nominated_on            TEXT,
    citizenship_verified_on TEXT,
    agency_background_on    TEXT,
    ice_background_on       TEXT,
    training_passed_on      TEXT,
    certified_on            TEXT,
    authorized_on           TEXT,
    authorization_expires_on TEXT,
    credential_number       TEXT NOT NULL DEFAULT '',
    credential_received_on  TEXT,
    withdrawn_on            TEXT,
    withdrawal_reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX designations_officer ON designations (officer_id, model);

CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
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
    hash         TEXT NOT NULL
);
CREATE INDEX audit_object ON audit_log (object_kind, object_id);
CREATE INDEX audit_user ON audit_log (username);
CREATE INDEX audit_at ON audit_log (at_us);

-- The product never edits or deletes audit entries; these triggers make the
-- database refuse it too, so only someone bypassing SQLite's own schema can
-- alter a row, and the hash chain exposes that.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

INSERT INTO agency (id, login_banner) VALUES (1,
  'This is a restricted criminal justice information system. Use is monitored, recorded and audited. Unauthorized use is prohibited and may be subject to criminal and civil penalties. By signing in you consent to this monitoring.');
