-- Publications (docs/publications.md): a calendar month, quarter or year
-- of an agency's measures (agency_id) or the state's (agency_id 0, the
-- state chain), frozen when made. The figures (`body`, small cells already
-- suppressed) and the open-data files are stored as published, never
-- recomputed; a correction is a new version. `note` is the signed
-- checkpoint of the publishing chain at the entry that records the
-- publication, with each file's SHA-256 on its extension lines.
-- Public by design, so not walled by row-level security (0022): anyone
-- may read them without signing in.
CREATE TABLE publications (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agency_id     BIGINT NOT NULL,
    period_from   TEXT NOT NULL,
    period_to     TEXT NOT NULL,
    version       BIGINT NOT NULL,
    published_at  BIGINT NOT NULL,
    -- What changed and why (a correction); empty for a first version.
    correction    TEXT NOT NULL,
    data_sha256   TEXT NOT NULL,
    audit_seq     BIGINT NOT NULL,
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
    FOR EACH ROW EXECUTE FUNCTION refuse_change('publications cannot be changed; publish a correction');
CREATE TRIGGER publications_no_delete BEFORE DELETE ON publications
    FOR EACH ROW EXECUTE FUNCTION refuse_change('publications cannot be deleted; publish a correction');
CREATE TRIGGER publications_no_truncate BEFORE TRUNCATE ON publications
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('publications cannot be deleted; publish a correction');
