-- MDR-style API connections (`docs/mdr-api.md`, "Objects and identifiers", "Token exchange",
-- "Rotation and reuse detection", "Signing keys", "Resource API"), PostgreSQL flavour. Keep in step
-- with portcullis-store-sqlite/migrations (same file names; a test compares the lists).
--
-- As in 0001/0002: instants are timestamptz rounded to milliseconds, identifiers and
-- user-visible text are COLLATE "C" (byte order, like SQLite's BINARY), constraint names are
-- spelled out because the store maps a unique violation of each to Conflict("<field>") by name
-- (src/mdr.rs). No token string is ever stored, only jtis and metadata.

CREATE TABLE mdr_customers (
    client_id  text        COLLATE "C" NOT NULL,
    name       text        COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT mdr_customers_pkey PRIMARY KEY (client_id)
);

CREATE INDEX mdr_customers_created_idx ON mdr_customers (created_at, client_id);

CREATE TABLE mdr_tenants (
    tenant_id   text COLLATE "C" NOT NULL,
    client_id   text COLLATE "C" NOT NULL REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    tenant_name text COLLATE "C" NOT NULL,
    CONSTRAINT mdr_tenants_pkey PRIMARY KEY (tenant_id),
    -- Also the per-customer listing by name (client_id first).
    CONSTRAINT mdr_tenants_name_key UNIQUE (client_id, tenant_name)
);

CREATE TABLE mdr_connections (
    connection_id text        COLLATE "C" NOT NULL,
    client_id     text        COLLATE "C" NOT NULL
        REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    name          text        COLLATE "C" NOT NULL,
    role          text        COLLATE "C" NOT NULL,
    -- JSON array of tenant names, in the order given; [] = the whole customer.
    tenants       jsonb       NOT NULL CHECK (jsonb_typeof(tenants) = 'array'),
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz,
    -- The family whose tokens are valid; NULL after Revoke or reuse. Deliberately not a
    -- foreign key (families reference connections, and a connection is inserted first); every
    -- change of it happens under the connection's row lock, in the transaction that also
    -- revokes the family it replaces.
    live_family   text        COLLATE "C",
    -- True once a token of the live family was exchanged ("Pending activation" otherwise).
    activated     boolean     NOT NULL DEFAULT false,
    CONSTRAINT mdr_connections_pkey PRIMARY KEY (connection_id),
    -- Also the per-customer listing path (client_id first).
    CONSTRAINT mdr_connections_name_key UNIQUE (client_id, name)
);

CREATE INDEX mdr_connections_created_idx ON mdr_connections (client_id, created_at, connection_id);

-- A chain of refresh tokens descending from one bootstrap token. Revocation is permanent
-- (R9): revoked_at is set once and never cleared. Deleting the connection removes its
-- families and their records.
CREATE TABLE mdr_families (
    family_id     text        COLLATE "C" NOT NULL,
    connection_id text        COLLATE "C" NOT NULL
        REFERENCES mdr_connections (connection_id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text        CHECK (revoke_reason IN ('refresh', 'revoke', 'reuse')),
    CONSTRAINT mdr_families_pkey PRIMARY KEY (family_id),
    CONSTRAINT mdr_families_revoked_check CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);

CREATE INDEX mdr_families_connection_idx ON mdr_families (connection_id);

-- One row per refresh token ever issued (never the token string). An exchange's successor
-- carries the access token issued with it, so a grace-period retry can re-sign the identical
-- pair (R5).
CREATE TABLE mdr_refresh_records (
    jti               text        COLLATE "C" NOT NULL,
    family_id         text        COLLATE "C" NOT NULL
        REFERENCES mdr_families (family_id) ON DELETE CASCADE,
    -- Not foreign keys: the purge removes spent records while their neighbours stay.
    parent_jti        text        COLLATE "C",
    origin            text        NOT NULL CHECK (origin IN ('console', 'exchange')),
    issued_at         timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    -- Set once by the exchange that spends it, together with successor_jti (R2).
    spent_at          timestamptz,
    successor_jti     text        COLLATE "C",
    access_jti        text        COLLATE "C",
    access_issued_at  timestamptz,
    access_expires_at timestamptz,
    revoked_at        timestamptz,
    CONSTRAINT mdr_refresh_records_pkey PRIMARY KEY (jti),
    CONSTRAINT mdr_refresh_records_spent_check CHECK ((spent_at IS NULL) = (successor_jti IS NULL)),
    -- Exchanged records carry their access token; console (bootstrap) records carry none.
    CONSTRAINT mdr_refresh_records_access_check CHECK (
        (origin = 'exchange'
         AND access_jti IS NOT NULL
         AND access_issued_at IS NOT NULL
         AND access_expires_at IS NOT NULL)
        OR (origin = 'console'
            AND access_jti IS NULL
            AND access_issued_at IS NULL
            AND access_expires_at IS NULL)
    )
);

-- Family revocation and the connection view's "one unspent token of the live family".
CREATE INDEX mdr_refresh_records_family_idx ON mdr_refresh_records (family_id, issued_at);
-- The purge looks only at spent or revoked records, by deadline.
CREATE INDEX mdr_refresh_records_purge_idx ON mdr_refresh_records (expires_at)
    WHERE spent_at IS NOT NULL OR revoked_at IS NOT NULL;

-- One record per exchange attempt (`docs/mdr-api.md`, "Token exchange"). Deliberately without
-- foreign keys: the path's Client ID may name no customer, and records outlive deleted connections.
CREATE TABLE mdr_exchange_audit (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    client_id     text        COLLATE "C" NOT NULL,
    connection_id text        COLLATE "C",
    jti_prefix    text        COLLATE "C",
    result        text        COLLATE "C" NOT NULL,
    source        text        COLLATE "C" NOT NULL
);

CREATE INDEX mdr_exchange_audit_client_idx ON mdr_exchange_audit (client_id, at, id);

-- Signing keys shared by every node (`docs/mdr-api.md`, "Signing keys"); the private key only
-- sealed with the KEK.
CREATE TABLE mdr_signing_keys (
    kid                text        COLLATE "C" NOT NULL,
    -- Insertion order: the tie-break of "oldest first" between keys created in the same ms.
    seq                bigint      GENERATED ALWAYS AS IDENTITY,
    algorithm          text        COLLATE "C" NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256')),
    public_key         bytea       NOT NULL,
    sealed_private_key bytea       NOT NULL,
    state              text        NOT NULL
        CHECK (state IN ('pending', 'active', 'verify-only', 'retired')),
    created_at         timestamptz NOT NULL,
    activated_at       timestamptz,
    deactivated_at     timestamptz,
    CONSTRAINT mdr_signing_keys_pkey PRIMARY KEY (kid)
);

-- Exactly one active key, enforced by the database: the first-start insert of every node is
-- INSERT … ON CONFLICT DO NOTHING against this index, so exactly one of them inserts.
CREATE UNIQUE INDEX mdr_signing_keys_one_active ON mdr_signing_keys (state)
    WHERE state = 'active';
CREATE INDEX mdr_signing_keys_created_idx ON mdr_signing_keys (created_at, seq);

-- Resource objects of the protected API (`docs/mdr-api.md`, "Resource API") as JSON documents; the
-- service filters, sorts and pages. Not tied to mdr_customers by a foreign key: demo loading may
-- bring objects before (or without) the console's customer row, and nothing here cascades.
CREATE TABLE mdr_objects (
    client_id  text   COLLATE "C" NOT NULL,
    kind       text   COLLATE "C" NOT NULL,
    id         text   COLLATE "C" NOT NULL,
    parent_id  text   COLLATE "C",
    tenant_id  text   COLLATE "C",
    created_ms bigint NOT NULL,
    -- The compare-and-set version of replace_object.
    updated_ms bigint NOT NULL,
    -- json, not jsonb: the text is kept as written, so objects come back with their keys in
    -- the order the service wrote them (as on SQLite) and the wire shape is the same.
    data       json   NOT NULL,
    -- An attachment's bytes; NULL for every other kind.
    content    bytea,
    CONSTRAINT mdr_objects_pkey PRIMARY KEY (client_id, kind, id)
);

-- Listings: one customer's objects of one kind (optionally one incident's children), in
-- creation order.
CREATE INDEX mdr_objects_created_idx ON mdr_objects (client_id, kind, created_ms, id);
CREATE INDEX mdr_objects_parent_idx ON mdr_objects (client_id, kind, parent_id, created_ms, id);

-- Per-customer incident number sequence: one row, bumped by one atomic upsert.
CREATE TABLE mdr_incident_counters (
    client_id   text   COLLATE "C" NOT NULL,
    last_number bigint NOT NULL CHECK (last_number > 0),
    CONSTRAINT mdr_incident_counters_pkey PRIMARY KEY (client_id)
);
