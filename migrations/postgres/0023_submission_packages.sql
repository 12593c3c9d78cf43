-- Submission packages (docs/packages.md): an agency that runs its own
-- install sends the state its records for a period; the state keeps a
-- receipt of each package it took, never changed.
CREATE TABLE package_receipts (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id       BIGINT NOT NULL REFERENCES agency (id),
    period_from     TEXT NOT NULL,
    period_to       TEXT NOT NULL,
    -- SHA-256 over the package's members (docs/packages.md).
    fingerprint     TEXT NOT NULL,
    -- The source install's audit chain when it wrote the package.
    source_seq      BIGINT NOT NULL,
    source_head     TEXT NOT NULL,
    exported_at     TEXT NOT NULL,
    -- Rows per member, as JSON.
    records         TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    received_by     TEXT NOT NULL,
    UNIQUE (agency_id, fingerprint)
);
CREATE INDEX package_receipts_period ON package_receipts (agency_id, period_from);
CREATE TRIGGER package_receipts_no_update BEFORE UPDATE ON package_receipts
    FOR EACH ROW EXECUTE FUNCTION refuse_change('package receipts cannot be changed');
CREATE TRIGGER package_receipts_no_delete BEFORE DELETE ON package_receipts
    FOR EACH ROW EXECUTE FUNCTION refuse_change('package receipts cannot be deleted');
CREATE TRIGGER package_receipts_no_truncate BEFORE TRUNCATE ON package_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('package receipts cannot be deleted');
-- The second wall (0022) holds for receipts as for every agency's table.
ALTER TABLE package_receipts ENABLE ROW LEVEL SECURITY;
ALTER TABLE package_receipts FORCE ROW LEVEL SECURITY;
CREATE POLICY agency_wall ON package_receipts
    USING (agency_wall(agency_id)) WITH CHECK (agency_wall(agency_id));

-- A decision carried by a package was made on the agency's own install by
-- a reviewer who has no account here: its reviewer_id is NULL (the name
-- and kind are kept).
ALTER TABLE sign_offs ALTER COLUMN reviewer_id DROP NOT NULL;

-- A value logged on the agency's own install and carried by a package
-- has no account here either: its logged_by is NULL (the names kept).
ALTER TABLE logged_values ALTER COLUMN logged_by DROP NOT NULL;
