-- Publications (docs/publications.md): a calendar month, quarter or year
-- of an agency's measures (agency_id) or the state's (agency_id 0, the
-- state chain), frozen when made. The figures (`body`, small cells already
-- suppressed) and the open-data files are stored as published, never
-- recomputed; a correction is a new version. `note` is the signed
-- checkpoint of the publishing chain at the entry that records the
-- publication, with each file's SHA-256 on its extension lines.
CREATE TABLE publications (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    version       INTEGER NOT NULL,
    published_at  INTEGER NOT NULL,
    -- What changed and why (a correction); empty for a first version.
    correction    TEXT NOT NULL,
    data_sha256   TEXT NOT NULL,
    audit_seq     INTEGER NOT NULL,
    body          TEXT NOT NULL,
    measures_csv  TEXT NOT NULL,
    measures_json TEXT NOT NULL,
    dictionary_csv TEXT NOT NULL,
    datapackage   TEXT NOT NULL,
    pdf_file      TEXT NOT NULL,
    pdf_sha256    TEXT NOT NULL,
    note          TEXT NOT NULL,
    UNIQUE (agency_id, period_from, period_to, version)
);
CREATE TRIGGER publications_no_update BEFORE UPDATE ON publications
BEGIN SELECT RAISE(ABORT, 'publications cannot be changed; publish a correction'); END;
CREATE TRIGGER publications_no_delete BEFORE DELETE ON publications
BEGIN SELECT RAISE(ABORT, 'publications cannot be deleted; publish a correction'); END;
