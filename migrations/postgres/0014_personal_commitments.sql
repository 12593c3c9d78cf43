-- Personal data in hashes (docs/security.md): an arrest's audit entries
-- commit to the name and date of birth through a salt kept with the
-- record, never through a plain digest a guess could be tested against.
ALTER TABLE arrests ADD COLUMN person_salt TEXT NOT NULL DEFAULT '';
-- PostgreSQL has no randomblob() and its gen_random_bytes() needs the
-- pgcrypto extension. The salt is the same form as SQLite's (and
-- canonical::new_salt's): 16 random bytes as 32 lowercase hex digits,
-- here the first half of a SHA-256 over two gen_random_uuid() (built in
-- since PostgreSQL 13, from the server's strong random source; 244 random
-- bits in, so every output bit is random). Volatile: a new salt per row.
UPDATE arrests SET person_salt =
    encode(substring(sha256(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())) FROM 1 FOR 16), 'hex');

-- The canonical form each fingerprint was made in (docs/fingerprints.md).
-- What was signed or issued before keeps the form it was made in.
-- (On PostgreSQL too, adding a column with a constant default fires no
-- UPDATE trigger, so the append-only tables take it.)
ALTER TABLE sign_offs ADD COLUMN form TEXT NOT NULL DEFAULT 'v1';
ALTER TABLE reports ADD COLUMN data_form TEXT NOT NULL DEFAULT 'v1';
