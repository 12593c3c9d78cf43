-- Personal data in hashes (docs/security.md): an arrest's audit entries
-- commit to the name and date of birth through a salt kept with the
-- record, never through a plain digest a guess could be tested against.
ALTER TABLE arrests ADD COLUMN person_salt TEXT NOT NULL DEFAULT '';
UPDATE arrests SET person_salt = lower(hex(randomblob(16)));

-- The canonical form each fingerprint was made in (docs/fingerprints.md).
-- What was signed or issued before keeps the form it was made in.
ALTER TABLE sign_offs ADD COLUMN form TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE reports ADD COLUMN data_form TEXT NOT NULL DEFAULT 'v1';
