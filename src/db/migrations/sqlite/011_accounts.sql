-- Accounts people can recover (issue #20): verified email addresses, and the single-use tokens of
-- password-reset and email-verification links.
--
-- Every existing account starts unverified: nobody has confirmed those addresses. Nothing changes for
-- them until a shop sets require_verified_email.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
-- The password's version: microseconds of its last change (0: never changed since registration or
-- this migration). A reset token remembers the version it was issued for and is void once it differs,
-- so a password changed any other way ends every link sent before (auth/repo.cpp, kUseResetToken).
ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;

-- Only a SHA-256 of each token is kept (hex): the token itself is 32 random bytes that exist only in
-- the email (sealed in the outbox row, notify/sealed.hpp) and in the customer's hands.
CREATE TABLE account_tokens (
  token_hash       TEXT    PRIMARY KEY,
  purpose          TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'email_verification')),
  user_id          INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email            TEXT    NOT NULL,             -- the address it was sent to: verification verifies this one
  password_version BIGINT  NOT NULL,             -- users.password_changed_at when it was issued
  expires_at       BIGINT  NOT NULL,             -- microseconds since the epoch, UTC
  used_at          BIGINT,                       -- set once, by the one request that used it
  created_at       BIGINT  NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
-- The sweeper deletes expired tokens by this index (auth::repo::purge_account_tokens).
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);
