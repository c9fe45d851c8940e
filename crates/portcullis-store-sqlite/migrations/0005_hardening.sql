-- Issue 9 hardening, SQLite flavour. Keep in step with portcullis-store-postgres/migrations
-- (same file names; a test compares the lists).

-- Sliding-window brute-force limits (docs/security.md, "Brute-force limits"): one row per
-- counted event. Per-source failures (30 in 10 min) and the per-account hard cap (100
-- evaluated failures an hour) are counted here; the background purge deletes events older
-- than the longest window.
CREATE TABLE throttle_window_events (
    id  INTEGER PRIMARY KEY,
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
) STRICT;

CREATE INDEX throttle_window_events_key_at_idx ON throttle_window_events (key, at);
CREATE INDEX throttle_window_events_at_idx ON throttle_window_events (at);

-- The refresh family an authorization code was exchanged for: a replayed code revokes it
-- (RFC 6749 §4.1.2).
ALTER TABLE oauth_auth_codes
    ADD COLUMN family_id INTEGER REFERENCES oauth_refresh_families (id) ON DELETE SET NULL;
CREATE INDEX oauth_auth_codes_family_idx ON oauth_auth_codes (family_id);
