-- Logged measures (metrics.md): figures that do not come from the
-- product's records (removals ICE attributes to the agreement, detainers
-- ICE reports, steering-committee meetings, outreach events, costs from the
-- finance system). Administrators define them; clerks log a value per
-- period with its source; a supervisor or administrator other than the one
-- who logged it confirms it.
--
-- PostgreSQL: target and value are DOUBLE PRECISION (REAL is 4 bytes here).
CREATE TABLE logged_measures (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    unit        TEXT NOT NULL CHECK (unit IN ('count', 'percent', 'dollars', 'hours', 'days')),
    target      DOUBLE PRECISION,
    better      TEXT NOT NULL CHECK (better IN ('higher', 'lower')),
    source      TEXT NOT NULL
);

CREATE TABLE logged_values (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    measure_id        BIGINT NOT NULL REFERENCES logged_measures (id),
    period_from       TEXT NOT NULL,
    period_to         TEXT NOT NULL,
    value             DOUBLE PRECISION NOT NULL,
    source_document   TEXT NOT NULL,
    logged_by         BIGINT NOT NULL REFERENCES users (id),
    logged_by_name    TEXT NOT NULL,
    logged_at         BIGINT NOT NULL,
    confirmed_by      BIGINT REFERENCES users (id),
    confirmed_by_name TEXT,
    confirmed_at      BIGINT,
    UNIQUE (measure_id, period_from, period_to)
);
