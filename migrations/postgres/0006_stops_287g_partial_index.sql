-- 287(g) actions are a small share of stops: index only those rows, which
-- keeps the index small and cheap to maintain on bulk imports.
-- (PostgreSQL supports partial indexes the same way.)
DROP INDEX stops_287g;
CREATE INDEX stops_287g ON stops (stop_date, id) WHERE action_287g = 1;
