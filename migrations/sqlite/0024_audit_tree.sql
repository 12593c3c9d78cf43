-- The Merkle tree over each audit chain (docs/audit.md): its complete
-- subtrees of 16 leaves and more, by level and index, as hex SHA-256.
-- Levels below 4 are recomputed from the entries' own hashes when a proof
-- needs them, so the table holds about one row per eight entries. It is
-- derived from the log and rebuilt from it if it ever disagrees.
CREATE TABLE audit_tree (
    agency_id  INTEGER NOT NULL,
    level      INTEGER NOT NULL,
    idx        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    PRIMARY KEY (agency_id, level, idx)
);

-- Signed checkpoints of each chain's tree (C2SP tlog-checkpoint notes),
-- one per tree size, never changed.
CREATE TABLE audit_checkpoints (
    agency_id     INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    root          TEXT NOT NULL,
    note          TEXT NOT NULL,
    signed_at_us  INTEGER NOT NULL,
    PRIMARY KEY (agency_id, size)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

-- Each report keeps the signed checkpoint its cover prints (empty for
-- reports issued before checkpoints), so `report verify` can prove that
-- the log today extends it.
ALTER TABLE reports ADD COLUMN checkpoint TEXT NOT NULL DEFAULT '';
