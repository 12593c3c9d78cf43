-- The paper the agency prints and files its oversight reports on: US
-- Letter (215.9 × 279.4 mm) unless the agency chooses A4.
ALTER TABLE agency ADD COLUMN paper_size TEXT NOT NULL DEFAULT 'letter';
