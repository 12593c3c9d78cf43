-- The deployment's own settings, beside its agencies' (docs/tenancy.md):
-- who of the state's users must use two-step sign-in (state users see
-- every agency: everyone, unless the state administrator says otherwise).
CREATE TABLE deployment (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    mfa_policy  TEXT NOT NULL DEFAULT 'everyone'
        CHECK (mfa_policy IN ('everyone', 'administrators', 'optional'))
);
INSERT INTO deployment (id) VALUES (1);
