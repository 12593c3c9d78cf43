-- The sign-off queue asks, once per view, which records the signed-in
-- supervisor created or edited (nobody reviews their own): by user id.
CREATE INDEX audit_user_id ON audit_log (user_id, action);
