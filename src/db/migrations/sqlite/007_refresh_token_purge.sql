-- The reservation sweeper purges refresh tokens that can no longer be used (auth::repo::purge_refresh):
-- expired ones by expiry, revoked ones (logout, reuse detection, deactivation) by this partial index,
-- so each sweep reads only what it deletes, whatever the size of the table.
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
