-- Aggregates of stops (docs/measures.md, "Counted as written"), written in
-- the same transaction as every change to the stops, so that a year's
-- measures read a few thousand rows instead of a million stops.

-- Per day, grouping (race, gender, age) and group: what D1, D3-D8 and Q1
-- count, and `timed` (stops with a clock time, which D9 needs to know which
-- days it spans). Each stop counts once in each grouping.
CREATE TABLE stop_tallies (
    day        TEXT NOT NULL,
    grouping   TEXT NOT NULL,
    grp        TEXT NOT NULL,
    stops      INTEGER NOT NULL,
    searches   INTEGER NOT NULL,
    hits       INTEGER NOT NULL,
    arrests    INTEGER NOT NULL,
    force      INTEGER NOT NULL,
    no_action  INTEGER NOT NULL,
    inquiries  INTEGER NOT NULL,
    complete   INTEGER NOT NULL,
    timed      INTEGER NOT NULL,
    PRIMARY KEY (day, grouping, grp)
) WITHOUT ROWID;

-- D9: stops with a clock time and one known group, per day, minute of the
-- day and minority (1) or White (0), for the minutes of the band around
-- civil dusk recorded in stop_aggregates (the agency's place decides it).
CREATE TABLE stop_minutes (
    day       TEXT NOT NULL,
    minute    INTEGER NOT NULL,
    minority  INTEGER NOT NULL,
    stops     INTEGER NOT NULL,
    PRIMARY KEY (day, minute, minority)
) WITHOUT ROWID;

-- The report's data fingerprint (report/v3): per day, the number of stops
-- and the sum, modulo 2^2048, of each stop's 2048-bit content hash.
CREATE TABLE stop_digests (
    day    TEXT PRIMARY KEY,
    stops  INTEGER NOT NULL,
    sum    BLOB NOT NULL
) WITHOUT ROWID;

-- The same for arrests (committed: names and dates of birth enter only as
-- their salted commitments).
CREATE TABLE arrest_digests (
    day      TEXT PRIMARY KEY,
    arrests  INTEGER NOT NULL,
    sum      BLOB NOT NULL
) WITHOUT ROWID;

-- Whether the aggregates have been built from the records (at the first
-- start after this migration), and the minutes band stop_minutes holds.
CREATE TABLE stop_aggregates (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    built      INTEGER NOT NULL,
    band_from  INTEGER,
    band_to    INTEGER
);
INSERT INTO stop_aggregates (id, built) VALUES (1, 0);
