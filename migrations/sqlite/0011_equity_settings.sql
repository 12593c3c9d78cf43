-- Agency settings for two equity measures: the jurisdiction's population
-- shares by group (D2, e.g. from the census: "white=61.2; hispanic=27.9")
-- and its latitude and longitude (D9, for the time of dusk).
ALTER TABLE agency ADD COLUMN population_shares TEXT NOT NULL DEFAULT '';
ALTER TABLE agency ADD COLUMN latitude REAL;
ALTER TABLE agency ADD COLUMN longitude REAL;
