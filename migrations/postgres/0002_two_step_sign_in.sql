-- Two-step sign-in (TOTP, RFC 6238). security.md asks it for at least
-- administrators; the agency chooses whether everyone must use it.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
-- The last time step accepted, so a code is never accepted twice.
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agency ADD COLUMN mfa_policy TEXT NOT NULL DEFAULT 'administrators'
    CHECK (mfa_policy IN ('everyone', 'administrators', 'optional'));
