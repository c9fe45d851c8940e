-- Changes every node must apply to its caches (docs/cluster.md). Triggers write one row per
-- change in the transaction that makes it; a server polls the table, so a change made by
-- another process on the same file (`portcullis admin …`) reaches its caches too. SQLite
-- serialises writers, so sequence order is commit order.
CREATE TABLE change_log (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    -- When the change was made, Unix ms (only for lag figures and the purge).
    at   INTEGER NOT NULL,
    kind TEXT    NOT NULL,
    key  TEXT    NOT NULL
) STRICT;

CREATE INDEX change_log_at_idx ON change_log (at);

-- Access tokens: revocation, a scope or expiry change, deletion of a live token. Uses
-- (`last_used`) are not announced.
CREATE TRIGGER oauth_access_tokens_changed AFTER UPDATE ON oauth_access_tokens FOR EACH ROW
    WHEN OLD.revoked_at IS NOT NEW.revoked_at OR OLD.scope IS NOT NEW.scope
         OR OLD.expires_at IS NOT NEW.expires_at OR OLD.user_id IS NOT NEW.user_id
         OR OLD.hash IS NOT NEW.hash
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'token', lower(hex(OLD.hash)));
END;
CREATE TRIGGER oauth_access_tokens_deleted AFTER DELETE ON oauth_access_tokens FOR EACH ROW
    WHEN OLD.revoked_at IS NULL
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'token', lower(hex(OLD.hash)));
END;
-- A revoked refresh family (reuse) kills its access tokens: drop what its owner has cached.
CREATE TRIGGER oauth_refresh_families_changed AFTER UPDATE ON oauth_refresh_families FOR EACH ROW
    WHEN OLD.revoked_at IS NOT NEW.revoked_at
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'user', CAST(OLD.user_id AS TEXT));
END;
-- System-wide revocation moves a mark; deleting an application removes its tokens.
CREATE TRIGGER token_revocation_marks_changed AFTER UPDATE ON token_revocation_marks FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'tokens', '');
END;
CREATE TRIGGER oauth_applications_deleted AFTER DELETE ON oauth_applications FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'tokens', '');
END;

-- Sessions: logout, eviction, purge, re-key. Idle-expiry renewals (which only extend a
-- session) are not announced.
CREATE TRIGGER sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
    WHEN OLD.hash IS NOT NEW.hash OR OLD.user_id IS NOT NEW.user_id
         OR OLD.auth_generation IS NOT NEW.auth_generation
         OR OLD.absolute_expires_at IS NOT NEW.absolute_expires_at
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'session', lower(hex(OLD.hash)));
END;
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'session', lower(hex(OLD.hash)));
END;

-- Users: any change (deactivation, password, flags, names, last login) and deletion; the
-- cached credentials carry the user record.
CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'user', CAST(OLD.id AS TEXT));
END;
CREATE TRIGGER users_deleted AFTER DELETE ON users FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'user', CAST(OLD.id AS TEXT));
END;

CREATE TRIGGER settings_inserted AFTER INSERT ON settings FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'settings', '');
END;
CREATE TRIGGER settings_changed AFTER UPDATE ON settings FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'settings', '');
END;
CREATE TRIGGER settings_deleted AFTER DELETE ON settings FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'settings', '');
END;

-- MDR connections: Revoke, Refresh, role/tenant/name edits, deletion and family revocation
-- (reuse). Exchanges (`activated`, `last_used_at`) are not announced.
CREATE TRIGGER mdr_connections_changed AFTER UPDATE ON mdr_connections FOR EACH ROW
    WHEN OLD.live_family IS NOT NEW.live_family OR OLD.role IS NOT NEW.role
         OR OLD.tenants IS NOT NEW.tenants OR OLD.name IS NOT NEW.name
         OR OLD.client_id IS NOT NEW.client_id
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'connection', OLD.connection_id);
END;
CREATE TRIGGER mdr_connections_deleted AFTER DELETE ON mdr_connections FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'connection', OLD.connection_id);
END;
CREATE TRIGGER mdr_families_changed AFTER UPDATE ON mdr_families FOR EACH ROW
    WHEN OLD.revoked_at IS NOT NEW.revoked_at
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'connection', OLD.connection_id);
END;
CREATE TRIGGER mdr_customers_deleted AFTER DELETE ON mdr_customers FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'connections', '');
END;

-- Signing keys: creation, promotion, retirement, deletion.
CREATE TRIGGER mdr_signing_keys_inserted AFTER INSERT ON mdr_signing_keys FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'keys', '');
END;
CREATE TRIGGER mdr_signing_keys_changed AFTER UPDATE ON mdr_signing_keys FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'keys', '');
END;
CREATE TRIGGER mdr_signing_keys_deleted AFTER DELETE ON mdr_signing_keys FOR EACH ROW
BEGIN
    INSERT INTO change_log (at, kind, key) VALUES
        (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'keys', '');
END;
