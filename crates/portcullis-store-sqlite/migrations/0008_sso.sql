-- Single sign-on through an OpenID Connect provider (docs/sso.md).

-- Logins under way: created at /sso/login/oidc/, taken (deleted) by the callback, purged
-- when expired. `state` and the browser's flow cookie are kept only as SHA-256 hashes.
CREATE TABLE sso_flows (
    state_hash   BLOB    PRIMARY KEY CHECK (length(state_hash) = 32),
    browser_hash BLOB    NOT NULL CHECK (length(browser_hash) = 32),
    nonce        TEXT    NOT NULL,
    verifier     TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    next         TEXT    NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_flows_expiry ON sso_flows (expires_at);

-- Provider identities: a user is found by (issuer, subject), never by a name or an e-mail the
-- provider sends.
CREATE TABLE sso_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- The sessions single sign-on began, for back-channel logout; the row goes with its session.
CREATE TABLE sso_sessions (
    session_hash BLOB PRIMARY KEY REFERENCES sessions (hash) ON DELETE CASCADE ON UPDATE CASCADE,
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    sid          TEXT
) STRICT;
CREATE INDEX sso_sessions_subject ON sso_sessions (issuer, subject);
CREATE INDEX sso_sessions_sid ON sso_sessions (issuer, sid);

-- Single-use markers (the `jti` of accepted logout tokens), kept while a replay could pass.
CREATE TABLE sso_used (
    key        BLOB    PRIMARY KEY CHECK (length(key) = 32),
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_used_expiry ON sso_used (expires_at);
