-- Submission packages (docs/packages.md): an agency that runs its own
-- install sends the state its records for a period; the state keeps a
-- receipt of each package it took, never changed.
CREATE TABLE package_receipts (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agency (id),
    period_from     TEXT NOT NULL,
    period_to       TEXT NOT NULL,
    -- SHA-256 over the package's members (docs/packages.md).
    fingerprint     TEXT NOT NULL,
    -- The source install's audit chain when it wrote the package.
    source_seq      INTEGER NOT NULL,
    source_head     TEXT NOT NULL,
    exported_at     TEXT NOT NULL,
    -- Rows per member, as JSON.
    records         TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    received_by     TEXT NOT NULL,
    UNIQUE (agency_id, fingerprint)
);
CREATE INDEX package_receipts_period ON package_receipts (agency_id, period_from);
CREATE TRIGGER package_receipts_no_update BEFORE UPDATE ON package_receipts
BEGIN SELECT RAISE(ABORT, 'package receipts cannot be changed'); END;
CREATE TRIGGER package_receipts_no_delete BEFORE DELETE ON package_receipts
BEGIN SELECT RAISE(ABORT, 'package receipts cannot be deleted'); END;

-- A decision carried by a package was made on the agency's own install by
-- a reviewer who has no account here: its reviewer_id is NULL (the name
-- and kind are kept). SQLite changes a column's constraint only by
-- building the table again; rows, ids, indexes and rules stay as they were.
CREATE TABLE sign_offs_new (
    id             INTEGER PRIMARY KEY,
    record_kind    TEXT NOT NULL CHECK (record_kind IN ('stop', 'arrest')),
    record_id      INTEGER NOT NULL,
    supersedes     INTEGER NOT NULL DEFAULT 0,
    decision       TEXT NOT NULL CHECK (decision IN ('approved', 'returned', 'referred')),
    comment        TEXT NOT NULL DEFAULT '',
    reviewer_id    INTEGER REFERENCES users (id),
    reviewer_name  TEXT NOT NULL,
    reviewer_kind  TEXT NOT NULL CHECK (reviewer_kind IN ('agency', 'ice')),
    signed_at      INTEGER NOT NULL,
    action_at      INTEGER NOT NULL,
    record_hash    TEXT NOT NULL,
    form           TEXT NOT NULL DEFAULT 'v1',
    agency_id      INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (record_kind, record_id, supersedes)
);
INSERT INTO sign_offs_new SELECT id, record_kind, record_id, supersedes, decision, comment, reviewer_id,
    reviewer_name, reviewer_kind, signed_at, action_at, record_hash, form, agency_id FROM sign_offs;
DROP TABLE sign_offs;
ALTER TABLE sign_offs_new RENAME TO sign_offs;
CREATE INDEX sign_offs_record ON sign_offs (record_kind, record_id, id);
CREATE INDEX sign_offs_signed ON sign_offs (agency_id, signed_at);
CREATE TRIGGER sign_offs_no_update BEFORE UPDATE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'sign-offs cannot be changed, only superseded'); END;
CREATE TRIGGER sign_offs_no_delete BEFORE DELETE ON sign_offs
BEGIN SELECT RAISE(ABORT, 'sign-offs cannot be deleted, only superseded'); END;

-- A value logged on the agency's own install and carried by a package
-- has no account here either: its logged_by is NULL (the names kept).
CREATE TABLE logged_values_new (
    id                INTEGER PRIMARY KEY,
    measure_id        INTEGER NOT NULL REFERENCES logged_measures (id),
    period_from       TEXT NOT NULL,
    period_to         TEXT NOT NULL,
    value             REAL NOT NULL,
    source_document   TEXT NOT NULL,
    logged_by         INTEGER REFERENCES users (id),
    logged_by_name    TEXT NOT NULL,
    logged_at         INTEGER NOT NULL,
    confirmed_by      INTEGER REFERENCES users (id),
    confirmed_by_name TEXT,
    confirmed_at      INTEGER,
    agency_id         INTEGER NOT NULL DEFAULT 0 REFERENCES agency (id),
    UNIQUE (measure_id, period_from, period_to)
);
INSERT INTO logged_values_new SELECT id, measure_id, period_from, period_to, value, source_document, logged_by,
    logged_by_name, logged_at, confirmed_by, confirmed_by_name, confirmed_at, agency_id FROM logged_values;
DROP TABLE logged_values;
ALTER TABLE logged_values_new RENAME TO logged_values;
