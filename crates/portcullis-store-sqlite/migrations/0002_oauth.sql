-- OAuth2 applications, tokens and codes, the inventory/host registry and the brute-force
-- throttle, SQLite flavour. Keep in step with portcullis-store-postgres/migrations (same file
-- names; a test compares the lists).
--
-- As in 0001: instants are INTEGER Unix milliseconds, tables are STRICT, secrets are stored
-- only as 32-byte SHA-256 hashes.

CREATE TABLE oauth_applications (
    -- AUTOINCREMENT: a deleted application's id (and so its client's tokens' meaning) is never
    -- handed to a new application.
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    name                     TEXT    NOT NULL,
    description              TEXT    NOT NULL DEFAULT '',
    client_id                TEXT    NOT NULL UNIQUE,
    -- NULL for public clients.
    secret_hash              BLOB    CHECK (secret_hash IS NULL OR length(secret_hash) = 32),
    client_type              TEXT    NOT NULL CHECK (client_type IN ('confidential', 'public')),
    redirect_uris            TEXT    NOT NULL DEFAULT '',
    authorization_grant_type TEXT    NOT NULL
        CHECK (authorization_grant_type IN ('password', 'authorization-code')),
    skip_authorization       INTEGER NOT NULL DEFAULT 0 CHECK (skip_authorization IN (0, 1)),
    organization             INTEGER,
    -- The organization as a uniqueness key: NULL would be distinct from every other NULL in a
    -- UNIQUE constraint, but two applications without an organization must conflict. A
    -- generated column (rather than an expression index) keeps SQLite's constraint message
    -- naming `name`, which the error mapping turns into Conflict("name"). Organization ids
    -- are positive, so -1 cannot collide with a real one.
    organization_key         INTEGER NOT NULL
        GENERATED ALWAYS AS (COALESCE(organization, -1)) VIRTUAL,
    created_at               INTEGER NOT NULL,
    modified_at              INTEGER NOT NULL,
    UNIQUE (name, organization_key)
) STRICT;

-- A chain of refresh tokens descending from one grant: rotation continues it, reuse of a
-- consumed member revokes all of it.
CREATE TABLE oauth_refresh_families (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    application_id INTEGER NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    created_at     INTEGER NOT NULL,
    revoked_at     INTEGER
) STRICT;

-- Cascades from user and application deletes.
CREATE INDEX oauth_refresh_families_user_idx ON oauth_refresh_families (user_id);
CREATE INDEX oauth_refresh_families_application_idx ON oauth_refresh_families (application_id);

CREATE TABLE oauth_access_tokens (
    -- AUTOINCREMENT is load-bearing: system-wide revocation stores the highest id it covers
    -- (token_revocation_marks), which is only sound if a later token always gets a higher id.
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the token value; the value itself is never stored.
    hash           BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL for a personal access token.
    application_id INTEGER REFERENCES oauth_applications (id) ON DELETE CASCADE,
    -- NULL for a personal access token.
    family_id      INTEGER REFERENCES oauth_refresh_families (id) ON DELETE CASCADE,
    description    TEXT    NOT NULL DEFAULT '',
    scope          TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    modified_at    INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_used      INTEGER,
    -- Revoked rows stay (invisible) until the purge, so revocation is a cheap update.
    revoked_at     INTEGER
) STRICT;

-- Per-user listings and revocation, per-application listings, family revocation, purge.
CREATE INDEX oauth_access_tokens_user_idx ON oauth_access_tokens (user_id, id);
CREATE INDEX oauth_access_tokens_application_idx ON oauth_access_tokens (application_id, id);
CREATE INDEX oauth_access_tokens_family_idx ON oauth_access_tokens (family_id);
CREATE INDEX oauth_access_tokens_expiry_idx ON oauth_access_tokens (expires_at);

CREATE TABLE oauth_refresh_tokens (
    -- AUTOINCREMENT for the same reason as access tokens (the refresh revocation mark).
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hash            BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    family_id       INTEGER NOT NULL REFERENCES oauth_refresh_families (id) ON DELETE CASCADE,
    application_id  INTEGER NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The access token issued with it; cleared when that token is deleted (rotation, purge),
    -- while the refresh token itself must survive for rotation or reuse detection.
    access_token_id INTEGER REFERENCES oauth_access_tokens (id) ON DELETE SET NULL,
    scope           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    -- Set by rotation; a consumed token presented again is reuse (or a lost race).
    consumed_at     INTEGER,
    revoked_at      INTEGER
) STRICT;

CREATE INDEX oauth_refresh_tokens_family_idx ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_access_token_idx ON oauth_refresh_tokens (access_token_id);
CREATE INDEX oauth_refresh_tokens_user_idx ON oauth_refresh_tokens (user_id);
CREATE INDEX oauth_refresh_tokens_application_idx ON oauth_refresh_tokens (application_id);
CREATE INDEX oauth_refresh_tokens_expiry_idx ON oauth_refresh_tokens (expires_at);

CREATE TABLE oauth_auth_codes (
    -- SHA-256 of the code.
    hash                  BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    application_id        INTEGER NOT NULL REFERENCES oauth_applications (id) ON DELETE CASCADE,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    scope                 TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    used_at               INTEGER
) STRICT;

CREATE INDEX oauth_auth_codes_application_idx ON oauth_auth_codes (application_id);
CREATE INDEX oauth_auth_codes_user_idx ON oauth_auth_codes (user_id);
CREATE INDEX oauth_auth_codes_expiry_idx ON oauth_auth_codes (expires_at);

-- System-wide revocation as one row write instead of one per token: a token of `kind` whose
-- id is at or below `max_id` is dead. Both rows always exist (seeded below), so readers use
-- a scalar subquery without a join that could drop rows.
CREATE TABLE token_revocation_marks (
    kind      TEXT    PRIMARY KEY CHECK (kind IN ('access', 'refresh')),
    max_id    INTEGER NOT NULL,
    marked_at INTEGER NOT NULL
) STRICT;

INSERT INTO token_revocation_marks (kind, max_id, marked_at) VALUES ('access', 0, 0), ('refresh', 0, 0);

-- The console's "revoke external users' tokens" looks only at this slice.
CREATE INDEX users_external_idx ON users (id) WHERE external_account IS NOT NULL;

CREATE TABLE inventories (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL UNIQUE,
    description  TEXT    NOT NULL DEFAULT '',
    organization INTEGER,
    variables    TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE hosts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    inventory_id INTEGER NOT NULL REFERENCES inventories (id) ON DELETE CASCADE,
    enabled      INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    instance_id  TEXT    NOT NULL DEFAULT '',
    variables    TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    modified_at  INTEGER NOT NULL,
    -- `name` first: SQLite's message names the first column, which becomes Conflict("name").
    UNIQUE (name, inventory_id)
) STRICT;

-- Per-inventory host listings and counts, and the cascade on inventory delete.
CREATE INDEX hosts_inventory_idx ON hosts (inventory_id, id);

-- One brute-force counter per opaque key.
CREATE TABLE throttle_counters (
    key          TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL CHECK (failures >= 0),
    last_failure INTEGER NOT NULL
) STRICT;

-- Account + source pairs that have logged in successfully, and when last.
CREATE TABLE throttle_known_sources (
    key          TEXT    PRIMARY KEY,
    last_success INTEGER NOT NULL
) STRICT;
