-- Supervision sign-off (records.md, program.md "Supervision"): each
-- decision on a 287(g) action is a row that is never changed or deleted.
-- A later decision on the same record supersedes the one before it; the
-- UNIQUE constraint on (record, supersedes) lets exactly one decision follow
-- each earlier state, so two supervisors signing at the same moment cannot
-- both succeed.

-- The officer a user is recorded as (nobody reviews their own actions) and
-- whether a supervisor signs as an ICE or an agency supervisor.
ALTER TABLE users ADD COLUMN officer_id BIGINT REFERENCES officers (id);
ALTER TABLE users ADD COLUMN supervisor_kind TEXT NOT NULL DEFAULT 'agency'
    CHECK (supervisor_kind IN ('agency', 'ice'));

-- Days a 287(g) action may wait for its sign-off before it is overdue.
ALTER TABLE agency ADD COLUMN sign_off_days BIGINT NOT NULL DEFAULT 3;

CREATE TABLE sign_offs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_kind    TEXT NOT NULL CHECK (record_kind IN ('stop', 'arrest')),
    record_id      BIGINT NOT NULL,
    -- The decision this one follows on the same record (0: the first).
    supersedes     BIGINT NOT NULL DEFAULT 0,
    decision       TEXT NOT NULL CHECK (decision IN ('approved', 'returned', 'referred')),
    comment        TEXT NOT NULL DEFAULT '',
    reviewer_id    BIGINT NOT NULL REFERENCES users (id),
    reviewer_name  TEXT NOT NULL,
    reviewer_kind  TEXT NOT NULL CHECK (reviewer_kind IN ('agency', 'ice')),
    -- Unix seconds.
    signed_at      BIGINT NOT NULL,
    -- The action's own date and time, copied so lags need no join.
    action_at      BIGINT NOT NULL,
    -- SHA-256 of the record's canonical content when it was signed.
    record_hash    TEXT NOT NULL,
    UNIQUE (record_kind, record_id, supersedes)
);
CREATE INDEX sign_offs_record ON sign_offs (record_kind, record_id, id);
CREATE INDEX sign_offs_signed ON sign_offs (signed_at);

-- PostgreSQL: the row triggers call refuse_change() (0001) with SQLite's
-- messages; TRUNCATE, which row triggers do not see, is refused with the
-- delete message.
CREATE TRIGGER sign_offs_no_update BEFORE UPDATE ON sign_offs
    FOR EACH ROW EXECUTE FUNCTION refuse_change('sign-offs cannot be changed, only superseded');
CREATE TRIGGER sign_offs_no_delete BEFORE DELETE ON sign_offs
    FOR EACH ROW EXECUTE FUNCTION refuse_change('sign-offs cannot be deleted, only superseded');
CREATE TRIGGER sign_offs_no_truncate BEFORE TRUNCATE ON sign_offs
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('sign-offs cannot be deleted, only superseded');

-- The queue reads 287(g) arrests only.
CREATE INDEX arrests_287g ON arrests (arrest_date, id)
    WHERE detainer_lodged = 1 OR removal_paperwork = 1 OR warrant_served = 1;
