-- Issued oversight reports: each row and its file are never changed. The
-- file's SHA-256 identifies an unaltered copy; the data fingerprint and the
-- audit head say what the report was computed from.
CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
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
    size          INTEGER NOT NULL
);

-- Oversight reviewers' comments on an issued report.
CREATE TABLE report_comments (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX report_comments_report ON report_comments (report_id, id);

CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be changed'); END;
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'issued reports cannot be deleted'); END;
CREATE TRIGGER report_comments_no_update BEFORE UPDATE ON report_comments
BEGIN SELECT RAISE(ABORT, 'comments cannot be changed'); END;
CREATE TRIGGER report_comments_no_delete BEFORE DELETE ON report_comments
BEGIN SELECT RAISE(ABORT, 'comments cannot be deleted'); END;
