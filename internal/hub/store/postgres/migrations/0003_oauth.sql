-- The hub's OAuth 2 provider: clients (one per single-user server and
-- service) and single-use authorization codes, kept by hash.
CREATE TABLE oauth_clients (
    id           text        COLLATE "C" PRIMARY KEY,
    secret_hash  bytea       NOT NULL,
    redirect_uri text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    user_id      bigint      REFERENCES users (id) ON DELETE CASCADE,
    service      text        COLLATE "C",
    scopes       text[]      NOT NULL DEFAULT '{}',
    created      timestamptz NOT NULL,
    CHECK ((user_id IS NULL) <> (service IS NULL))
);

CREATE INDEX oauth_clients_user ON oauth_clients (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE oauth_codes (
    code_hash             bytea       PRIMARY KEY,
    client_id             text        COLLATE "C" NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    user_id               bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri          text        NOT NULL,
    code_challenge        text        NOT NULL DEFAULT '',
    code_challenge_method text        NOT NULL DEFAULT '',
    scopes                text[]      NOT NULL DEFAULT '{}',
    created               timestamptz NOT NULL,
    expires               timestamptz NOT NULL
);

CREATE INDEX oauth_codes_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_user ON oauth_codes (user_id);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires);
