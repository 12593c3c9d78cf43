-- Training: a course catalog the administrator edits, and the training
-- records clerks keep. Documents: files with versions, kept outside any
-- served folder; the rows hold what identifies each file.
--
-- PostgreSQL: REAL is 4 bytes here (sqlx will not decode it into f64):
-- hours are DOUBLE PRECISION, integers BIGINT.

CREATE TABLE courses (
    id                    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    kind                  TEXT NOT NULL CHECK (kind IN ('initial', 'refresher', 'agency')),
    -- Comma-separated models the course applies to; empty means every model.
    models                TEXT NOT NULL DEFAULT '',
    required_hours        DOUBLE PRECISION NOT NULL,
    max_hours             DOUBLE PRECISION NOT NULL,
    -- Months a completion stays valid; NULL for a course taken once.
    validity_months       BIGINT,
    pass_mark             BIGINT NOT NULL DEFAULT 70,
    remediation_attempts  BIGINT NOT NULL DEFAULT 1,
    active                BIGINT NOT NULL DEFAULT 1
);

-- program.md: JEM initial 4 weeks (160 h), TFM initial 40 h, WSO initial
-- 8 h online, JEM refresher 1 week every 2 years; an annual course the
-- agency mandates. Unconfirmed values stay editable in the catalog.
INSERT INTO courses (name, kind, models, required_hours, max_hours, validity_months, pass_mark, remediation_attempts) VALUES
    ('287(g) Jail Enforcement Model basic training', 'initial', 'JEM', 160, 200, NULL, 70, 1),
    ('287(g) Task Force Model basic training', 'initial', 'TFM', 40, 60, NULL, 70, 1),
    ('287(g) Warrant Service Officer training (online)', 'initial', 'WSO', 8, 16, NULL, 70, 1),
    ('287(g) Jail Enforcement Model refresher', 'refresher', 'JEM', 40, 60, 24, 70, 1),
    ('Agency annual 287(g) policy and civil rights training', 'agency', '', 4, 16, 12, 70, 1);

CREATE TABLE training_records (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    officer_id    BIGINT NOT NULL REFERENCES officers (id),
    course_id     BIGINT NOT NULL REFERENCES courses (id),
    completed_on  TEXT NOT NULL,
    hours         DOUBLE PRECISION NOT NULL,
    -- Exam attempts in order, comma-separated scores 0-100; empty when the
    -- course has no exam recorded.
    scores        TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX training_officer ON training_records (officer_id, course_id, completed_on);
CREATE INDEX training_completed ON training_records (completed_on);

CREATE TABLE documents (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title               TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('agreement', 'amendment', 'sop', 'authorization_letter', 'certificate', 'other')),
    officer_id          BIGINT REFERENCES officers (id),
    training_record_id  BIGINT REFERENCES training_records (id),
    created_at          BIGINT NOT NULL
);
CREATE INDEX documents_officer ON documents (officer_id);
CREATE INDEX documents_training ON documents (training_record_id);

CREATE TABLE document_versions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document_id    BIGINT NOT NULL REFERENCES documents (id),
    version        BIGINT NOT NULL,
    original_name  TEXT NOT NULL,
    stored_name    TEXT NOT NULL UNIQUE,
    content_type   TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    BIGINT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, version)
);
