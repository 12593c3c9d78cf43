-- Aggregates of stops (docs/measures.md, "Counted as written"), written in
-- the same transaction as every change to the stops, so that a year's
-- measures read a few thousand rows instead of a million stops.
--
-- PostgreSQL: SQLite's WITHOUT ROWID (the rows stored in the primary key's
-- b-tree) has no equivalent and is dropped; every table here is a heap
-- with its primary key index. Counts are BIGINT, the digest sums BYTEA.

-- Per day, grouping (race, gender, age) and group: what D1, D3-D8 and Q1
-- count, and `timed` (stops with a clock time, which D9 needs to know which
-- days it spans). Each stop counts once in each grouping.
CREATE TABLE stop_tallies (
    day        TEXT NOT NULL,
    grouping   TEXT NOT NULL,
    grp        TEXT NOT NULL,
    stops      BIGINT NOT NULL,
    searches   BIGINT NOT NULL,
    hits       BIGINT NOT NULL,
    arrests    BIGINT NOT NULL,
    force      BIGINT NOT NULL,
    no_action  BIGINT NOT NULL,
    inquiries  BIGINT NOT NULL,
    complete   BIGINT NOT NULL,
    timed      BIGINT NOT NULL,
    PRIMARY KEY (day, grouping, grp)
);

-- D9: stops with a clock time and one known group, per day, minute of the
-- day and minority (1) or White (0), for the minutes of the band around
-- civil dusk recorded in stop_aggregates (the agency's place decides it).
CREATE TABLE stop_minutes (
    day       TEXT NOT NULL,
    minute    BIGINT NOT NULL,
    minority  BIGINT NOT NULL,
    stops     BIGINT NOT NULL,
    PRIMARY KEY (day, minute, minority)
);

-- The report's data fingerprint (report/v3): per day, the number of stops
-- and the sum, modulo 2^2048, of each stop's 2048-bit content hash.
CREATE TABLE stop_digests (
    day    TEXT PRIMARY KEY,
    stops  BIGINT NOT NULL,
    sum    BYTEA NOT NULL
);

-- The same for arrests (committed: names and dates of birth enter only as
-- their salted commitments).
CREATE TABLE arrest_digests (
    day      TEXT PRIMARY KEY,
    arrests  BIGINT NOT NULL,
    sum      BYTEA NOT NULL
);

-- Whether the aggregates have been built from the records (at the first
-- start after this migration), and the minutes band stop_minutes holds.
-- One row, inserted below with its id: a plain key, no identity.
CREATE TABLE stop_aggregates (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    built      BIGINT NOT NULL,
    band_from  BIGINT,
    band_to    BIGINT
);
INSERT INTO stop_aggregates (id, built) VALUES (1, 0);
