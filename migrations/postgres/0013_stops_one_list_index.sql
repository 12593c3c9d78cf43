-- Imports write a stop into every index on stops. The officer and
-- district indexes took their rows at scattered places (one insertion
-- point per officer or district), which cost a million-row import a
-- third of its time. The list's date-ordered index now carries officer
-- and district too, so those filters are answered from it: a page needs
-- the first fifty matches in date order, and an officer or district has a
-- large enough share of stops that they come within a few thousand index
-- entries.
DROP INDEX stops_officer;
DROP INDEX stops_district;
DROP INDEX stops_date;
CREATE INDEX stops_list ON stops (stop_date, id, searched, perceived_race, stop_type, action_287g, officer_id, district);

-- Searched stops are the ones oversight reads most (search and hit rates
-- by group, and the dashboard's drill-downs) and a small share of all
-- stops: their own index finds a group's searches without passing over
-- every unsearched stop. Appended to in date order, it is cheap to keep.
CREATE INDEX stops_searched ON stops (stop_date, id, perceived_race, stop_type, action_287g, officer_id, district)
    WHERE searched = 1;

-- The districts in use, for the list's filter menu, kept as stops are
-- written rather than found by reading the stops.
-- PostgreSQL: the primary key makes name NOT NULL; SQLite's TEXT PRIMARY
-- KEY on a rowid table would accept a NULL name (the product writes only
-- non-empty names). DISTINCT compares bytes under the C collation, as
-- SQLite's BINARY collation does, so the same names are kept.
CREATE TABLE stop_districts (
    name TEXT PRIMARY KEY
);
INSERT INTO stop_districts (name) SELECT DISTINCT district FROM stops WHERE district <> '';
