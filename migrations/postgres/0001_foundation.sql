-- Foundation schema: agency profile, users and roles, officers with their
-- 287(g) designations, and the hash-chained audit log.
-- Portable types only (BIGINT, TEXT): dates are TEXT YYYY-MM-DD, instants
-- are BIGINT unix seconds (audit times: microseconds), flags BIGINT 0/1.
--
-- PostgreSQL translation of migrations/sqlite/0001_foundation.sql: every
-- integer is BIGINT (INTEGER is 32-bit here: the audit time in µs would
-- overflow, and sqlx decodes only int8 into i64); an `INTEGER PRIMARY KEY`
-- the database numbers becomes an identity column.

-- One row, inserted below with its id: a plain key, no identity.
CREATE TABLE agency (
    id                 BIGINT PRIMARY KEY CHECK (id = 1),
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
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username              TEXT NOT NULL UNIQUE,
    display_name          TEXT NOT NULL,
    password_hash         TEXT NOT NULL,
    must_change_password  BIGINT NOT NULL DEFAULT 0,
    disabled              BIGINT NOT NULL DEFAULT 0,
    locked                BIGINT NOT NULL DEFAULT 0,
    failed_logins         BIGINT NOT NULL DEFAULT 0,
    first_failed_at       BIGINT,
    session_epoch         BIGINT NOT NULL DEFAULT 0,
    created_at            BIGINT NOT NULL,
    last_login_at         BIGINT
);

CREATE TABLE user_roles (
    user_id  BIGINT NOT NULL REFERENCES users (id),
    role     TEXT NOT NULL CHECK (role IN ('administrator', 'clerk', 'supervisor', 'reviewer', 'auditor')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE officers (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    badge                TEXT NOT NULL UNIQUE,
    last_name            TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    rank                 TEXT NOT NULL DEFAULT '',
    unit                 TEXT NOT NULL DEFAULT '',
    hire_date            TEXT,
    status               TEXT NOT NULL CHECK (status IN ('active', 'on_leave', 'separated')),
    supervisor_id        BIGINT REFERENCES officers (id),
    annual_salary_cents  BIGINT
);
CREATE INDEX officers_name ON officers (last_name, first_name);

-- One row per designation period: a withdrawn officer who is later
-- re-authorized gets a new row, so the old period stays on the record.
CREATE TABLE designations (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    officer_id              BIGINT NOT NULL REFERENCES officers (id),
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

-- The application numbers the entries itself (seq is part of the hash
-- chain and is always inserted explicitly): a plain key, no identity.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at_us        BIGINT NOT NULL,
    user_id      BIGINT,
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
-- database refuse it too, so only someone bypassing the database's own
-- schema (here: the table's owner disabling or dropping the triggers) can
-- alter a row, and the hash chain exposes that.
--
-- PostgreSQL has no RAISE(ABORT, ...) in trigger bodies: one plpgsql
-- function raises the message given as the trigger's argument (shared by
-- every append-only table, see 0007 and 0009). Row triggers do not see
-- TRUNCATE, so a statement-level trigger refuses it too, with the delete
-- message. SQLSTATE 23001 (restrict_violation), an integrity constraint
-- error, stands where SQLite reports SQLITE_CONSTRAINT_TRIGGER.
CREATE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change('audit log is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change('audit log is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('audit log is append-only');

INSERT INTO agency (id, login_banner) VALUES (1,
  'This is a restricted criminal justice information system. Use is monitored, recorded and audited. Unauthorized use is prohibited and may be subject to criminal and civil penalties. By signing in you consent to this monitoring.');
