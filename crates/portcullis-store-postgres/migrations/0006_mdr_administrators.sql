-- The per-customer "MDR administrator" role (`docs/mdr-api.md`, "MDR administrators"),
-- PostgreSQL flavour. Keep in step with portcullis-store-sqlite/migrations (same file names; a
-- test compares the lists).

-- One row per (customer, user) holding the role. Deleting either removes the grant.
CREATE TABLE mdr_customer_admins (
    client_id  text        COLLATE "C" NOT NULL
        REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at timestamptz NOT NULL,
    CONSTRAINT mdr_customer_admins_pkey PRIMARY KEY (client_id, user_id)
);

-- The console's per-page question "which customers does this user administer?".
CREATE INDEX mdr_customer_admins_user_idx ON mdr_customer_admins (user_id, client_id);
