-- Arrests (with the 287(g) actions that followed), complaints, and the pay
-- and lead figures behind the reimbursement cap and quarterly awards.
--
-- PostgreSQL: integers, flags and cents BIGINT; overtime hours DOUBLE
-- PRECISION (REAL is 4 bytes here).

CREATE TABLE arrests (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arrest_date         TEXT NOT NULL,
    arrest_time         TEXT NOT NULL,
    officer_id          BIGINT REFERENCES officers (id),
    stop_id             BIGINT REFERENCES stops (id),
    -- Personal data: shown only to the roles that need it.
    person_name         TEXT NOT NULL DEFAULT '',
    person_dob          TEXT,
    charges             TEXT NOT NULL,
    offense_code        TEXT NOT NULL DEFAULT '',
    offense_class       TEXT NOT NULL,
    priority_level      TEXT NOT NULL,
    arrest_type         TEXT NOT NULL,
    detainer_lodged     BIGINT NOT NULL DEFAULT 0,
    removal_paperwork   BIGINT NOT NULL DEFAULT 0,
    warrant_served      BIGINT NOT NULL DEFAULT 0,
    -- 'YYYY-MM-DD HH:MM' of transfer to ICE custody or of release.
    transferred_at      TEXT,
    released_at         TEXT,
    perceived_race      TEXT NOT NULL DEFAULT '',
    perceived_gender    TEXT NOT NULL DEFAULT '',
    perceived_age       BIGINT,
    exception           TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX arrests_date ON arrests (arrest_date, id);
CREATE INDEX arrests_officer ON arrests (officer_id, arrest_date);

CREATE TABLE complaints (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_on     TEXT NOT NULL,
    channel         TEXT NOT NULL,
    allegation      TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '',
    -- Comma-wrapped officer ids (",3,17,").
    officers        TEXT NOT NULL DEFAULT '',
    stop_id         BIGINT REFERENCES stops (id),
    arrest_id       BIGINT REFERENCES arrests (id),
    forwarded_to    TEXT NOT NULL DEFAULT '',
    forwarded_on    TEXT,
    disposition     TEXT NOT NULL DEFAULT 'pending',
    closed_on       TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX complaints_received ON complaints (received_on, id);

CREATE TABLE pay_periods (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    officer_id          BIGINT NOT NULL REFERENCES officers (id),
    period_start        TEXT NOT NULL,
    period_end          TEXT NOT NULL,
    base_pay_cents      BIGINT NOT NULL,
    overtime_hours      DOUBLE PRECISION NOT NULL,
    overtime_pay_cents  BIGINT NOT NULL,
    UNIQUE (officer_id, period_start)
);

CREATE TABLE leads (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    officer_id      BIGINT NOT NULL REFERENCES officers (id),
    -- Calendar quarter, 'YYYY-Qn'.
    quarter         TEXT NOT NULL,
    received        BIGINT NOT NULL,
    located         BIGINT NOT NULL,
    UNIQUE (officer_id, quarter)
);
