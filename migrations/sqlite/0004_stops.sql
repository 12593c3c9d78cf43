-- Stop records: one row per person stopped (records.md, after the
-- California RIPA elements), with the 287(g) facts. Multi-valued elements
-- are stored as comma-wrapped code lists (",frisk,handcuffed,") so one
-- code is matched exactly with LIKE '%,code,%'.

CREATE TABLE stops (
    id                         INTEGER PRIMARY KEY,
    stop_date                  TEXT NOT NULL,
    stop_time                  TEXT,
    duration_minutes           INTEGER,
    location                   TEXT NOT NULL DEFAULT '',
    district                   TEXT NOT NULL DEFAULT '',
    lat                        REAL,
    lng                        REAL,
    stop_type                  TEXT NOT NULL,
    call_for_service           INTEGER NOT NULL DEFAULT 0,
    officer_id                 INTEGER REFERENCES officers (id),
    assignment                 TEXT NOT NULL DEFAULT '',
    years_of_service           INTEGER,
    perceived_race             TEXT NOT NULL DEFAULT '',
    perceived_gender           TEXT NOT NULL DEFAULT '',
    perceived_age              INTEGER,
    limited_english            INTEGER NOT NULL DEFAULT 0,
    perceived_disability       INTEGER NOT NULL DEFAULT 0,
    reason                     TEXT NOT NULL,
    traffic_violation          TEXT NOT NULL DEFAULT '',
    reason_narrative           TEXT NOT NULL DEFAULT '',
    actions                    TEXT NOT NULL DEFAULT '',
    searched                   INTEGER NOT NULL DEFAULT 0,
    search_basis               TEXT NOT NULL DEFAULT '',
    contraband                 TEXT NOT NULL DEFAULT '',
    results                    TEXT NOT NULL DEFAULT '',
    result_narrative           TEXT NOT NULL DEFAULT '',
    immigration_status_asked   INTEGER NOT NULL DEFAULT 0,
    ice_contacted              INTEGER NOT NULL DEFAULT 0,
    action_287g                INTEGER NOT NULL DEFAULT 0,
    -- Why the officer was not authorized on the stop's date when the stop
    -- led to a 287(g) action (a compliance exception); empty otherwise.
    exception                  TEXT NOT NULL DEFAULT '',
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
);
-- The list is read newest first, filtered by date range and one of these.
CREATE INDEX stops_date ON stops (stop_date, id);
CREATE INDEX stops_officer ON stops (officer_id, stop_date);
CREATE INDEX stops_district ON stops (district, stop_date);
CREATE INDEX stops_287g ON stops (action_287g, stop_date);
