-- Changes every node must apply to its caches (docs/cluster.md). Triggers write one row per
-- change in the transaction that makes it, and announce it with NOTIFY, which PostgreSQL
-- delivers only when that transaction commits: a node never hears of a change that was
-- rolled back, and never misses one that committed (the row stays for the poll).
CREATE TABLE change_log (
    seq  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction. Pollers read every row whose transaction was still open at
    -- their previous poll (xid >= that snapshot's xmin), so a change that commits out of
    -- sequence order is never skipped.
    xid  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- When the change was made (the database clock: only for lag figures and the purge).
    at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind text        NOT NULL,
    key  text        NOT NULL
);

CREATE INDEX change_log_xid_idx ON change_log (xid);
CREATE INDEX change_log_at_idx ON change_log (at);

CREATE FUNCTION portcullis_announce(p_kind text, p_key text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    entry change_log;
BEGIN
    INSERT INTO change_log (kind, key) VALUES (p_kind, p_key) RETURNING * INTO entry;
    PERFORM pg_notify(
        'portcullis_changes',
        entry.seq || ' ' || (extract(epoch FROM entry.at) * 1000)::bigint || ' ' || p_kind || ' ' || p_key
    );
END
$$;

-- A change that concerns a whole kind (TG_ARGV[0]) rather than one key.
CREATE FUNCTION portcullis_kind_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce(TG_ARGV[0], '');
    RETURN NULL;
END
$$;

CREATE FUNCTION portcullis_token_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce('token', encode(OLD.hash, 'hex'));
    RETURN NULL;
END
$$;

CREATE FUNCTION portcullis_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce('session', encode(OLD.hash, 'hex'));
    RETURN NULL;
END
$$;

CREATE FUNCTION portcullis_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce('user', OLD.id::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION portcullis_connection_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce('connection', OLD.connection_id);
    RETURN NULL;
END
$$;

-- Access tokens: revocation, a scope or expiry change, deletion of a live token. Uses
-- (`last_used`) are not announced.
CREATE TRIGGER oauth_access_tokens_changed AFTER UPDATE ON oauth_access_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.scope IS DISTINCT FROM NEW.scope
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.hash IS DISTINCT FROM NEW.hash)
    EXECUTE FUNCTION portcullis_token_changed();
CREATE TRIGGER oauth_access_tokens_deleted AFTER DELETE ON oauth_access_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL)
    EXECUTE FUNCTION portcullis_token_changed();
-- A revoked refresh family (reuse) kills its access tokens: drop what its owner has cached.
CREATE FUNCTION portcullis_family_owner_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portcullis_announce('user', OLD.user_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER oauth_refresh_families_changed AFTER UPDATE ON oauth_refresh_families FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION portcullis_family_owner_changed();
-- System-wide revocation moves a mark; deleting an application removes its tokens.
CREATE TRIGGER token_revocation_marks_changed AFTER UPDATE ON token_revocation_marks
    FOR EACH ROW EXECUTE FUNCTION portcullis_kind_changed('tokens');
CREATE TRIGGER oauth_applications_deleted AFTER DELETE ON oauth_applications
    FOR EACH ROW EXECUTE FUNCTION portcullis_kind_changed('tokens');

-- Sessions: logout, eviction, purge, re-key. Idle-expiry renewals (which only extend a
-- session) are not announced.
CREATE TRIGGER sessions_changed AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.hash IS DISTINCT FROM NEW.hash OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.auth_generation IS DISTINCT FROM NEW.auth_generation
          OR OLD.absolute_expires_at IS DISTINCT FROM NEW.absolute_expires_at)
    EXECUTE FUNCTION portcullis_session_changed();
CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION portcullis_session_changed();

-- Users: any change (deactivation, password, flags, names, last login) and deletion; the
-- cached credentials carry the user record.
CREATE TRIGGER users_changed AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION portcullis_user_changed();
CREATE TRIGGER users_deleted AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION portcullis_user_changed();

CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION portcullis_kind_changed('settings');

-- MDR connections: Revoke, Refresh, role/tenant/name edits, deletion and family revocation
-- (reuse). Exchanges (`activated`, `last_used_at`) are not announced.
CREATE TRIGGER mdr_connections_changed AFTER UPDATE ON mdr_connections FOR EACH ROW
    WHEN (OLD.live_family IS DISTINCT FROM NEW.live_family OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.tenants IS DISTINCT FROM NEW.tenants OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.client_id IS DISTINCT FROM NEW.client_id)
    EXECUTE FUNCTION portcullis_connection_changed();
CREATE TRIGGER mdr_connections_deleted AFTER DELETE ON mdr_connections
    FOR EACH ROW EXECUTE FUNCTION portcullis_connection_changed();
CREATE TRIGGER mdr_families_changed AFTER UPDATE ON mdr_families FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
    EXECUTE FUNCTION portcullis_connection_changed();
CREATE TRIGGER mdr_customers_deleted AFTER DELETE ON mdr_customers
    FOR EACH ROW EXECUTE FUNCTION portcullis_kind_changed('connections');

-- Signing keys: creation, promotion, retirement, deletion.
CREATE TRIGGER mdr_signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON mdr_signing_keys
    FOR EACH ROW EXECUTE FUNCTION portcullis_kind_changed('keys');
