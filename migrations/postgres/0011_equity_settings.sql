-- Agency settings for two equity measures: the jurisdiction's population
-- shares by group (D2, e.g. from the census: "white=61.2; hispanic=27.9")
-- and its latitude and longitude (D9, for the time of dusk).
-- (PostgreSQL: DOUBLE PRECISION, since REAL is 4 bytes here.)
ALTER TABLE agency ADD COLUMN population_shares TEXT NOT NULL DEFAULT '';
ALTER TABLE agency ADD COLUMN latitude DOUBLE PRECISION;
ALTER TABLE agency ADD COLUMN longitude DOUBLE PRECISION;
