-- Stop records: one row per person stopped (records.md, after the
-- California RIPA elements), with the 287(g) facts. Multi-valued elements
-- are stored as comma-wrapped code lists (",frisk,handcuffed,") so one
-- code is matched exactly with LIKE '%,code,%'.
--
-- PostgreSQL: lat/lng are DOUBLE PRECISION (REAL is 4 bytes here and would
-- round 38.8976763 to 38.897675); integers and flags BIGINT. LIKE is
-- case-sensitive here and case-insensitive for ASCII in SQLite: the codes
-- are lowercase on both sides, so the matches are the same.

CREATE TABLE stops (
    id                         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stop_date                  TEXT NOT NULL,
    stop_time                  TEXT,
    duration_minutes           BIGINT,
    location                   TEXT NOT NULL DEFAULT '',
    district                   TEXT NOT NULL DEFAULT '',
    lat                        DOUBLE PRECISION,
    lng                        DOUBLE PRECISION,
    stop_type                  TEXT NOT NULL,
    call_for_service           BIGINT NOT NULL DEFAULT 0,
    officer_id                 BIGINT REFERENCES officers (id),
    assignment                 TEXT NOT NULL DEFAULT '',
    years_of_service           BIGINT,
    perceived_race             TEXT NOT NULL DEFAULT '',
    perceived_gender           TEXT NOT NULL DEFAULT '',
    perceived_age              BIGINT,
    limited_english            BIGINT NOT NULL DEFAULT 0,
    perceived_disability       BIGINT NOT NULL DEFAULT 0,
    reason                     TEXT NOT NULL,
    traffic_violation          TEXT NOT NULL DEFAULT '',
    reason_narrative           TEXT NOT NULL DEFAULT '',
    actions                    TEXT NOT NULL DEFAULT '',
    searched                   BIGINT NOT NULL DEFAULT 0,
    search_basis               TEXT NOT NULL DEFAULT '',
    contraband                 TEXT NOT NULL DEFAULT '',
    results                    TEXT NOT NULL DEFAULT '',
    result_narrative           TEXT NOT NULL DEFAULT '',
    immigration_status_asked   BIGINT NOT NULL DEFAULT 0,
    ice_contacted              BIGINT NOT NULL DEFAULT 0,
    action_287g                BIGINT NOT NULL DEFAULT 0,
    -- Why the officer was not authorized on the stop's date when the stop
    -- led to a 287(g) action (a compliance exception); empty otherwise.
    exception                  TEXT NOT NULL DEFAULT '',
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
-- The list is read newest first, filtered by date range and one of these.
CREATE INDEX stops_date ON stops (stop_date, id);
CREATE INDEX stops_officer ON stops (officer_id, stop_date);
CREATE INDEX stops_district ON stops (district, stop_date);
CREATE INDEX stops_287g ON stops (action_287g, stop_date);
