-- "Newest first" on the stop and arrest lists means by date and time,
-- then id. The list indexes carry the time after the date, so a page is
-- still read in order from the index and paging still seeks to its key.
-- A stop without a time sorts as the start of its day: the index holds
-- COALESCE(stop_time, ''), the expression the list orders by.
-- (PostgreSQL keeps expression and partial indexes alike; the planner uses
-- this one only for queries that write the same COALESCE(stop_time, '').
-- Ordering '' before any 'HH:MM' holds under any collation; the database
-- is created with the C collation so that text orders as in SQLite.)
DROP INDEX stops_list;
CREATE INDEX stops_list ON stops (stop_date, COALESCE(stop_time, ''), id, searched, perceived_race, stop_type,
    action_287g, officer_id, district);
DROP INDEX stops_searched;
CREATE INDEX stops_searched ON stops (stop_date, COALESCE(stop_time, ''), id, perceived_race, stop_type,
    action_287g, officer_id, district) WHERE searched = 1;
DROP INDEX stops_287g;
CREATE INDEX stops_287g ON stops (stop_date, COALESCE(stop_time, ''), id) WHERE action_287g = 1;
DROP INDEX arrests_date;
CREATE INDEX arrests_date ON arrests (arrest_date, arrest_time, id);

-- The day a course became required. An agency-mandated course an officer
-- has never completed is due from this day or the officer's nomination,
-- whichever is later, so a new course does not make every officer overdue
-- at once. NULL for a course in effect before any nomination (every
-- course made before this column).
ALTER TABLE courses ADD COLUMN effective_on TEXT;
