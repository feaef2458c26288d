-- Accounts and their refresh tokens. Mirrors sqlite/001_users.sql; ids are BIGINT, flags stay
-- INTEGER 0/1 so that the repositories read the same values from both dialects.
CREATE TABLE users (
  id            BIGSERIAL PRIMARY KEY,
  email         TEXT    NOT NULL,                 -- stored lower-case
  username      TEXT    NOT NULL,
  phone_number  TEXT,
  password_hash TEXT    NOT NULL,                 -- libsodium argon2id encoded string
  role          TEXT    NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff')),
  is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at    BIGINT  NOT NULL,                 -- microseconds since the epoch, UTC
  -- Named so that a unique violation says which field collided (auth::Service looks for "email").
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_username_key UNIQUE (username)
);

-- One row per refresh token ever issued; a family is the chain of rotations from one login.
CREATE TABLE refresh_tokens (
  jti        TEXT    PRIMARY KEY,
  family     TEXT    NOT NULL,
  user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  expires_at BIGINT  NOT NULL,
  used_at    BIGINT,                              -- set when rotated into a successor
  revoked_at BIGINT,                              -- set by logout or reuse detection
  created_at BIGINT  NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user_expiry ON refresh_tokens (user_id, expires_at);
