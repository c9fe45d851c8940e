-- Single sign-on through an OpenID Connect provider (docs/sso.md).

-- Logins under way: created at /sso/login/oidc/, taken (deleted) by the callback, purged
-- when expired. `state` and the browser's flow cookie are kept only as SHA-256 hashes.
CREATE TABLE sso_flows (
    state_hash   bytea       PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    browser_hash bytea       NOT NULL CHECK (octet_length(browser_hash) = 32),
    nonce        text        NOT NULL,
    verifier     text        NOT NULL,
    redirect_uri text        NOT NULL,
    next         text        NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sso_flows_expiry ON sso_flows (expires_at);

-- Provider identities: a user is found by (issuer, subject), never by a name or an e-mail the
-- provider sends.
CREATE TABLE sso_identities (
    issuer     text        NOT NULL,
    subject    text        NOT NULL,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- The sessions single sign-on began, for back-channel logout; the row goes with its session.
CREATE TABLE sso_sessions (
    session_hash bytea PRIMARY KEY REFERENCES sessions (hash) ON DELETE CASCADE ON UPDATE CASCADE,
    issuer       text  NOT NULL,
    subject      text  NOT NULL,
    sid          text
);
CREATE INDEX sso_sessions_subject ON sso_sessions (issuer, subject);
CREATE INDEX sso_sessions_sid ON sso_sessions (issuer, sid);

-- Single-use markers (the `jti` of accepted logout tokens), kept while a replay could pass.
CREATE TABLE sso_used (
    key        bytea       PRIMARY KEY CHECK (octet_length(key) = 32),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sso_used_expiry ON sso_used (expires_at);
