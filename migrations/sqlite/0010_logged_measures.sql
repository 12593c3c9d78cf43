-- Logged measures (metrics.md): figures that do not come from the
-- product's records (removals ICE attributes to the agreement, detainers
-- ICE reports, steering-committee meetings, outreach events, costs from the
-- finance system). Administrators define them; clerks log a value per
-- period with its source; a supervisor or administrator other than the one
-- who logged it confirms it.
CREATE TABLE logged_measures (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    unit        TEXT NOT NULL CHECK (unit IN ('count', 'percent', 'dollars', 'hours', 'days')),
    target      REAL,
    better      TEXT NOT NULL CHECK (better IN ('higher', 'lower')),
    source      TEXT NOT NULL
);

CREATE TABLE logged_values (
    id                INTEGER PRIMARY KEY,
    measure_id        INTEGER NOT NULL REFERENCES logged_measures (id),
    period_from       TEXT NOT NULL,
    period_to         TEXT NOT NULL,
    value             REAL NOT NULL,
    source_document   TEXT NOT NULL,
    logged_by         INTEGER NOT NULL REFERENCES users (id),
    logged_by_name    TEXT NOT NULL,
    logged_at         INTEGER NOT NULL,
    confirmed_by      INTEGER REFERENCES users (id),
    confirmed_by_name TEXT,
    confirmed_at      INTEGER,
    UNIQUE (measure_id, period_from, period_to)
);
