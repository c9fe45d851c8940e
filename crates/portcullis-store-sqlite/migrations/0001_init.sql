-- Portcullis schema, SQLite flavour. Keep in step with portcullis-store-postgres/migrations
-- (same file names; a test compares the lists).
--
-- Instants are INTEGER Unix milliseconds (UTC): core rounds every instant to milliseconds, so
-- both backends compare identical values. Tables are STRICT so a wrong type is an error, not a
-- silently coerced value.

CREATE TABLE users (
    -- AUTOINCREMENT: an id is never reused after a delete, so nothing that still names a
    -- deleted user's id (activity entries, logs) can ever point at a new user.
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    username          TEXT    NOT NULL UNIQUE,
    email             TEXT    NOT NULL DEFAULT '',
    first_name        TEXT    NOT NULL DEFAULT '',
    last_name         TEXT    NOT NULL DEFAULT '',
    -- NULL for external (directory) users: they can never log in with a local password.
    password_hash     TEXT,
    is_superuser      INTEGER NOT NULL DEFAULT 0 CHECK (is_superuser IN (0, 1)),
    is_system_auditor INTEGER NOT NULL DEFAULT 0 CHECK (is_system_auditor IN (0, 1)),
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    external_account  TEXT,
    ldap_dn           TEXT    NOT NULL DEFAULT '',
    -- Bumped by password change and disable; sessions carrying an older value are dead.
    auth_generation   INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    last_login        INTEGER
) STRICT;

-- count_active_superusers (guards "never remove the last superuser") reads only this slice.
CREATE INDEX users_active_superusers_idx ON users (id) WHERE is_superuser = 1 AND is_active = 1;
-- Directory logins find the local record of an LDAP user by DN.
CREATE INDEX users_ldap_dn_idx ON users (ldap_dn) WHERE ldap_dn <> '';

CREATE TABLE sessions (
    -- SHA-256 of the session id; the id itself is never stored.
    hash                BLOB    PRIMARY KEY CHECK (length(hash) = 32),
    -- Insertion order, the tie-breaker when two sessions share a creation instant. Assigned as
    -- MAX + 1 inside the BEGIN IMMEDIATE login transaction, so it is race-free; kept on re-key.
    seq                 INTEGER NOT NULL UNIQUE,
    user_id             INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          INTEGER NOT NULL,
    idle_expires_at     INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL,
    auth_generation     INTEGER NOT NULL
) STRICT;

-- Per-user work (cap eviction, "end all sessions", cascade on user delete) in eviction order.
CREATE INDEX sessions_user_created_idx ON sessions (user_id, created_at, seq);
-- The periodic purge looks for either deadline having passed.
CREATE INDEX sessions_idle_expiry_idx ON sessions (idle_expires_at);
CREATE INDEX sessions_absolute_expiry_idx ON sessions (absolute_expires_at);

CREATE TABLE settings (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL CHECK (json_valid(value)),
    updated_at INTEGER NOT NULL
) STRICT;

-- Install-wide secrets (e.g. the CSRF MAC key): insert-if-absent, first writer wins.
CREATE TABLE install_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE activity_stream (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp  INTEGER NOT NULL,
    -- Deliberately not a foreign key: entries must outlive the users they name.
    actor_id   INTEGER,
    operation  TEXT    NOT NULL,
    object1    TEXT    NOT NULL,
    object1_id INTEGER,
    changes    TEXT    NOT NULL CHECK (json_valid(changes))
) STRICT;

-- Listings filter by object (and id) or by actor, newest first.
CREATE INDEX activity_stream_object_idx ON activity_stream (object1, object1_id, id);
CREATE INDEX activity_stream_actor_idx ON activity_stream (actor_id, id);
-- Retention purges by age.
CREATE INDEX activity_stream_timestamp_idx ON activity_stream (timestamp);
