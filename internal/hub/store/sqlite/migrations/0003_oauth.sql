-- The hub's OAuth 2 provider: clients (one per single-user server and
-- service) and single-use authorization codes, kept by hash.
CREATE TABLE oauth_clients (
    id           TEXT    PRIMARY KEY,
    secret_hash  BLOB    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    user_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    service      TEXT,
    -- JSON array of strings
    scopes       TEXT    NOT NULL DEFAULT '[]',
    created      INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (service IS NULL))
) STRICT;

CREATE INDEX oauth_clients_user ON oauth_clients (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE oauth_codes (
    code_hash             BLOB    PRIMARY KEY,
    client_id             TEXT    NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id               INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          TEXT    NOT NULL,
    code_challenge        TEXT    NOT NULL DEFAULT '',
    code_challenge_method TEXT    NOT NULL DEFAULT '',
    scopes                TEXT    NOT NULL DEFAULT '[]',
    created               INTEGER NOT NULL,
    expires               INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX oauth_codes_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_user ON oauth_codes (user_id);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires);
