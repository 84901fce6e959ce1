-- API tokens, kept as SHA-256 of the secret with a short public prefix
-- to find candidates. AUTOINCREMENT: an ID is never reused.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    prefix        TEXT    NOT NULL,
    hash          BLOB    NOT NULL UNIQUE,
    user_id       INTEGER REFERENCES users (id) ON DELETE CASCADE,
    service       TEXT,
    client_id     TEXT    REFERENCES oauth_clients (id) ON DELETE CASCADE,
    -- JSON array of strings
    scopes        TEXT    NOT NULL DEFAULT '[]',
    note          TEXT    NOT NULL DEFAULT '',
    created       INTEGER NOT NULL,
    expires       INTEGER,
    last_activity INTEGER,
    CHECK ((user_id IS NULL) <> (service IS NULL))
) STRICT;

CREATE INDEX api_tokens_prefix ON api_tokens (prefix);
CREATE INDEX api_tokens_user ON api_tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX api_tokens_service ON api_tokens (service) WHERE service IS NOT NULL;
CREATE INDEX api_tokens_client ON api_tokens (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX api_tokens_expires ON api_tokens (expires) WHERE expires IS NOT NULL;
