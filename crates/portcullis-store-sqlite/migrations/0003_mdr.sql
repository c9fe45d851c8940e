-- MDR-style API connections (`docs/mdr-api.md`, "Objects and identifiers", "Token exchange",
-- "Rotation and reuse detection", "Signing keys", "Resource API"), SQLite flavour. Keep in step
-- with portcullis-store-postgres/migrations (same file names; a test compares the lists).
--
-- As in 0001/0002: instants are INTEGER Unix milliseconds, tables are STRICT. No token string
-- is ever stored, only jtis and metadata. In a UNIQUE constraint the column named first is the
-- one SQLite's message names, which the error mapping turns into Conflict("<column>"), so the
-- field the contract names comes first.

CREATE TABLE mdr_customers (
    -- 32 lowercase hex characters.
    client_id  TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- list_customers: oldest first, ties by id.
CREATE INDEX mdr_customers_created_idx ON mdr_customers (created_at, client_id);

CREATE TABLE mdr_tenants (
    tenant_id   TEXT NOT NULL PRIMARY KEY,
    client_id   TEXT NOT NULL REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    tenant_name TEXT NOT NULL,
    -- tenant_name first: a taken name is Conflict("tenant_name").
    UNIQUE (tenant_name, client_id)
) STRICT;

-- A customer's tenants, by name.
CREATE INDEX mdr_tenants_client_idx ON mdr_tenants (client_id, tenant_name);

CREATE TABLE mdr_connections (
    connection_id TEXT    NOT NULL PRIMARY KEY,
    client_id     TEXT    NOT NULL REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    -- JSON array of tenant names, in the order given; [] = the whole customer.
    tenants       TEXT    NOT NULL
        CHECK (json_valid(tenants) AND json_type(tenants) = 'array'),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    -- The family whose tokens are valid; NULL after Revoke or reuse. Not a foreign key:
    -- families reference connections and the connection row is written first. Every change
    -- of it happens in the BEGIN IMMEDIATE transaction that revokes the family it replaces.
    live_family   TEXT,
    -- 1 once a token of the live family was exchanged ("Pending activation" while 0).
    activated     INTEGER NOT NULL DEFAULT 0 CHECK (activated IN (0, 1)),
    -- name first: a taken name is Conflict("name").
    UNIQUE (name, client_id)
) STRICT;

-- A customer's connections, oldest first (ties by id).
CREATE INDEX mdr_connections_client_idx ON mdr_connections (client_id, created_at, connection_id);

-- A chain of refresh tokens descending from one bootstrap token. Revocation is permanent
-- (R9): revoked_at is set once and never cleared. Deleting the connection removes its
-- families and, through them, their records.
CREATE TABLE mdr_families (
    family_id     TEXT    NOT NULL PRIMARY KEY,
    connection_id TEXT    NOT NULL REFERENCES mdr_connections (connection_id) ON DELETE CASCADE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT    CHECK (revoke_reason IN ('refresh', 'revoke', 'reuse')),
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
) STRICT;

CREATE INDEX mdr_families_connection_idx ON mdr_families (connection_id);

-- One row per refresh token ever issued (never the token string). An exchange's successor
-- carries the access token issued with it, so a grace-period retry can re-sign the identical
-- pair (R5).
CREATE TABLE mdr_refresh_records (
    jti               TEXT    NOT NULL PRIMARY KEY,
    family_id         TEXT    NOT NULL REFERENCES mdr_families (family_id) ON DELETE CASCADE,
    -- Not foreign keys: the purge removes spent records while their neighbours stay.
    parent_jti        TEXT,
    origin            TEXT    NOT NULL CHECK (origin IN ('console', 'exchange')),
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    -- Set once by the exchange that spends it, together with successor_jti (R2).
    spent_at          INTEGER,
    successor_jti     TEXT,
    access_jti        TEXT,
    access_issued_at  INTEGER,
    access_expires_at INTEGER,
    revoked_at        INTEGER,
    CHECK ((spent_at IS NULL) = (successor_jti IS NULL)),
    -- Exchanged records carry their access token; console (bootstrap) records carry none.
    CHECK (
        (origin = 'exchange' AND access_jti IS NOT NULL
            AND access_issued_at IS NOT NULL AND access_expires_at IS NOT NULL)
        OR (origin = 'console' AND access_jti IS NULL
            AND access_issued_at IS NULL AND access_expires_at IS NULL)
    )
) STRICT;

-- Family revocation, and the connection view's "one unspent token of the live family".
CREATE INDEX mdr_refresh_records_family_idx ON mdr_refresh_records (family_id, issued_at);
-- The purge looks only at spent or revoked records, by deadline.
CREATE INDEX mdr_refresh_records_purge_idx ON mdr_refresh_records (expires_at)
    WHERE spent_at IS NOT NULL OR revoked_at IS NOT NULL;

-- One record per exchange attempt (`docs/mdr-api.md`, "Token exchange"). Deliberately without
-- foreign keys: the path's Client ID may name no customer, and records outlive deleted connections.
CREATE TABLE mdr_exchange_audit (
    -- Insertion order: "newest first" between records of the same instant.
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            INTEGER NOT NULL,
    client_id     TEXT    NOT NULL,
    connection_id TEXT,
    jti_prefix    TEXT,
    result        TEXT    NOT NULL,
    source        TEXT    NOT NULL
) STRICT;

CREATE INDEX mdr_exchange_audit_client_idx ON mdr_exchange_audit (client_id, at, id);

-- Signing keys shared by every node (`docs/mdr-api.md`, "Signing keys"); the private key only
-- sealed with the KEK.
CREATE TABLE mdr_signing_keys (
    -- Insertion order: the tie-break of "oldest first" between keys created in the same ms.
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    kid                TEXT    NOT NULL UNIQUE,
    algorithm          TEXT    NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256')),
    public_key         BLOB    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    state              TEXT    NOT NULL
        CHECK (state IN ('pending', 'active', 'verify-only', 'retired')),
    created_at         INTEGER NOT NULL,
    activated_at       INTEGER,
    deactivated_at     INTEGER
) STRICT;

-- Exactly one active key, enforced by the database: the first-start insert of every node is
-- INSERT … ON CONFLICT DO NOTHING against this index, so exactly one of them inserts.
CREATE UNIQUE INDEX mdr_signing_keys_one_active ON mdr_signing_keys (state)
    WHERE state = 'active';
CREATE INDEX mdr_signing_keys_created_idx ON mdr_signing_keys (created_at, seq);

-- Resource objects of the protected API (`docs/mdr-api.md`, "Resource API") as JSON documents; the
-- service filters, sorts and pages. Not tied to mdr_customers by a foreign key: demo loading may
-- bring objects before (or without) the console's customer row, and nothing here cascades.
CREATE TABLE mdr_objects (
    client_id  TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    parent_id  TEXT,
    tenant_id  TEXT,
    created_ms INTEGER NOT NULL,
    -- The compare-and-set version of replace_object.
    updated_ms INTEGER NOT NULL,
    data       TEXT    NOT NULL CHECK (json_valid(data)),
    -- An attachment's bytes; NULL for every other kind.
    content    BLOB,
    -- id first: a duplicate is Conflict("id").
    PRIMARY KEY (id, client_id, kind)
) STRICT;

-- Listings: one customer's objects of one kind (optionally one incident's children), in
-- creation order.
CREATE INDEX mdr_objects_created_idx ON mdr_objects (client_id, kind, created_ms, id);
CREATE INDEX mdr_objects_parent_idx ON mdr_objects (client_id, kind, parent_id, created_ms, id);

-- Per-customer incident number sequence: one row, bumped by one atomic upsert.
CREATE TABLE mdr_incident_counters (
    client_id   TEXT    NOT NULL PRIMARY KEY,
    last_number INTEGER NOT NULL CHECK (last_number > 0)
) STRICT;
