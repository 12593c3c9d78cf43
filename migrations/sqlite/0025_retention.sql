-- Retention of personal values (docs/retention.md): after the agency's
-- retention period (at least 365 days; NULL keeps them), the name and date
-- of birth of an old arrest may be purged. The record keeps the salted
-- commitments it was fingerprinted with, so every chain, sign-off and
-- report that committed to them still verifies.
ALTER TABLE agency ADD COLUMN retention_days INTEGER;
ALTER TABLE arrests ADD COLUMN name_commitment TEXT;
ALTER TABLE arrests ADD COLUMN dob_commitment TEXT;
ALTER TABLE arrests ADD COLUMN purged_on TEXT;
