-- Training: a course catalog the administrator edits, and the training
-- records clerks keep. Documents: files with versions, kept outside any
-- served folder; the rows hold what identifies each file.

CREATE TABLE courses (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL UNIQUE,
    kind                  TEXT NOT NULL CHECK (kind IN ('initial', 'refresher', 'agency')),
    -- Comma-separated models the course applies to; empty means every model.
    models                TEXT NOT NULL DEFAULT '',
    required_hours        REAL NOT NULL,
    max_hours             REAL NOT NULL,
    -- Months a completion stays valid; NULL for a course taken once.
    validity_months       INTEGER,
    pass_mark             INTEGER NOT NULL DEFAULT 70,
    remediation_attempts  INTEGER NOT NULL DEFAULT 1,
    active                INTEGER NOT NULL DEFAULT 1
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
    id            INTEGER PRIMARY KEY,
    officer_id    INTEGER NOT NULL REFERENCES officers (id),
    course_id     INTEGER NOT NULL REFERENCES courses (id),
    completed_on  TEXT NOT NULL,
    hours         REAL NOT NULL,
    -- Exam attempts in order, comma-separated scores 0-100; empty when the
    -- course has no exam recorded.
    scores        TEXT NOT NULL DEFAULT '',
    provider      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX training_officer ON training_records (officer_id, course_id, completed_on);
CREATE INDEX training_completed ON training_records (completed_on);

CREATE TABLE documents (
    id                  INTEGER PRIMARY KEY,
    title               TEXT NOT NULL,
    kind                TEXT NOT NULL CHECK (kind IN ('agreement', 'amendment', 'sop', 'authorization_letter', 'certificate', 'other')),
    officer_id          INTEGER REFERENCES officers (id),
    training_record_id  INTEGER REFERENCES training_records (id),
    created_at          INTEGER NOT NULL
);
CREATE INDEX documents_officer ON documents (officer_id);
CREATE INDEX documents_training ON documents (training_record_id);

CREATE TABLE document_versions (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES documents (id),
    version        INTEGER NOT NULL,
    original_name  TEXT NOT NULL,
    stored_name    TEXT NOT NULL UNIQUE,
    content_type   TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    sha256         TEXT NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    INTEGER NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    UNIQUE (document_id, version)
);
