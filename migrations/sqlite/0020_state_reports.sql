-- Statewide reports (docs/tenancy.md): issued by the state over every
-- agency of the deployment, never changed. Each one keeps, per agency,
-- the data fingerprint (in its form) and the audit head it was computed
-- from, so verification says which agency's records changed since.
CREATE TABLE state_reports (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    generated_at  INTEGER NOT NULL,
    generated_by  TEXT NOT NULL,
    -- SHA-256 over each agency's line "ORI, tab, form, tab, fingerprint".
    data_sha256   TEXT NOT NULL,
    -- The state chain's head at generation.
    audit_seq     INTEGER NOT NULL,
    audit_head    TEXT NOT NULL,
    file_sha256   TEXT NOT NULL UNIQUE,
    file_name     TEXT NOT NULL,
    size          INTEGER NOT NULL
);
CREATE TABLE state_report_agencies (
    report_id     INTEGER NOT NULL REFERENCES state_reports (id),
    agency_id     INTEGER NOT NULL REFERENCES agency (id),
    data_form     TEXT NOT NULL,
    data_sha256   TEXT NOT NULL,
    audit_seq     INTEGER NOT NULL,
    audit_head    TEXT NOT NULL,
    PRIMARY KEY (report_id, agency_id)
);
CREATE TRIGGER state_reports_no_update BEFORE UPDATE ON state_reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be changed'); END;
CREATE TRIGGER state_reports_no_delete BEFORE DELETE ON state_reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be deleted'); END;
CREATE TRIGGER state_report_agencies_no_update BEFORE UPDATE ON state_report_agencies
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be changed'); END;
CREATE TRIGGER state_report_agencies_no_delete BEFORE DELETE ON state_report_agencies
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be deleted'); END;
