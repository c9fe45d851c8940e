-- The per-customer "MDR administrator" role (`docs/mdr-api.md`, "MDR administrators"), SQLite
-- flavour. Keep in step with portcullis-store-postgres/migrations (same file names; a test
-- compares the lists).

-- One row per (customer, user) holding the role. Deleting either removes the grant.
CREATE TABLE mdr_customer_admins (
    client_id  TEXT    NOT NULL REFERENCES mdr_customers (client_id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, user_id)
) STRICT;

-- The console's per-page question "which customers does this user administer?".
CREATE INDEX mdr_customer_admins_user_idx ON mdr_customer_admins (user_id, client_id);
