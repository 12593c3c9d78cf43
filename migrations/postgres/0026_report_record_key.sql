-- report/v4 (docs/fingerprints.md): a report's data fingerprint is the
-- root of a Merkle tree over the records behind it, each leaf blinded by
-- an HMAC of the record's kind and id under the agency's record key, so
-- that a proof for one record reveals no guessable hash of another. The
-- agency's key is made at its first v4 report (empty until then); each
-- report keeps the key it was issued with. Neither is ever shown.
ALTER TABLE agency ADD COLUMN record_key BYTEA NOT NULL DEFAULT '\x'::bytea;
ALTER TABLE reports ADD COLUMN record_key BYTEA NOT NULL DEFAULT '\x'::bytea;
