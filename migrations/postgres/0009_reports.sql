-- Issued oversight reports: each row and its file are never changed. The
-- file's SHA-256 identifies an unaltered copy; the data fingerprint and the
-- audit head say what the report was computed from.
CREATE TABLE reports (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    generated_at  BIGINT NOT NULL,
    generated_by  TEXT NOT NULL,
    data_sha256   TEXT NOT NULL,
    audit_seq     BIGINT NOT NULL,
    audit_head    TEXT NOT NULL,
    file_sha256   TEXT NOT NULL UNIQUE,
    -- The stored file's name in the file store.
    file_name     TEXT NOT NULL,
    size          BIGINT NOT NULL
);

-- Oversight reviewers' comments on an issued report.
CREATE TABLE report_comments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id   BIGINT NOT NULL REFERENCES reports (id),
    user_id     BIGINT NOT NULL REFERENCES users (id),
    author      TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX report_comments_report ON report_comments (report_id, id);

-- PostgreSQL: refuse_change() (0001) with SQLite's messages, and TRUNCATE
-- refused with the delete message (`TRUNCATE reports` alone already fails
-- on the foreign key from report_comments; `... CASCADE` reaches both
-- triggers).
CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports
    FOR EACH ROW EXECUTE FUNCTION refuse_change('issued reports cannot be changed');
CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION refuse_change('issued reports cannot be deleted');
CREATE TRIGGER reports_no_truncate BEFORE TRUNCATE ON reports
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('issued reports cannot be deleted');
CREATE TRIGGER report_comments_no_update BEFORE UPDATE ON report_comments
    FOR EACH ROW EXECUTE FUNCTION refuse_change('comments cannot be changed');
CREATE TRIGGER report_comments_no_delete BEFORE DELETE ON report_comments
    FOR EACH ROW EXECUTE FUNCTION refuse_change('comments cannot be deleted');
CREATE TRIGGER report_comments_no_truncate BEFORE TRUNCATE ON report_comments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('comments cannot be deleted');
