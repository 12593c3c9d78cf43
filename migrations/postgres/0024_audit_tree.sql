-- The Merkle tree over each audit chain (docs/audit.md): its complete
-- subtrees of 16 leaves and more, by level and index, as hex SHA-256.
-- Levels below 4 are recomputed from the entries' own hashes when a proof
-- needs them, so the table holds about one row per eight entries. It is
-- derived from the log and rebuilt from it if it ever disagrees.
CREATE TABLE audit_tree (
    agency_id  BIGINT NOT NULL,
    level      BIGINT NOT NULL,
    idx        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (agency_id, level, idx)
);

-- Signed checkpoints of each chain's tree (C2SP tlog-checkpoint notes),
-- one per tree size, never changed.
CREATE TABLE audit_checkpoints (
    agency_id     BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    root          TEXT NOT NULL,
    note          TEXT NOT NULL,
    signed_at_us  BIGINT NOT NULL,
    PRIMARY KEY (agency_id, size)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change('checkpoints are append-only');
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change('checkpoints are append-only');
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('checkpoints are append-only');

-- The second wall (0022) holds for the tree and checkpoints as for the log.
ALTER TABLE audit_tree ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_tree FORCE ROW LEVEL SECURITY;
CREATE POLICY agency_wall ON audit_tree
    USING (agency_wall(agency_id)) WITH CHECK (agency_wall(agency_id));
ALTER TABLE audit_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY agency_wall ON audit_checkpoints
    USING (agency_wall(agency_id)) WITH CHECK (agency_wall(agency_id));

-- Each report keeps the signed checkpoint its cover prints (empty for
-- reports issued before checkpoints), so `report verify` can prove that
-- the log today extends it.
ALTER TABLE reports ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';
