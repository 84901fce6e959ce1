-- API tokens, kept as SHA-256 of the secret with a short public prefix to
-- find candidates. The prefix is bytea: it is the secret's first bytes,
-- which need not end on a UTF-8 character boundary. Identity IDs come from
-- a sequence and are never reused.
CREATE TABLE api_tokens (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix        bytea       NOT NULL,
    hash          bytea       NOT NULL UNIQUE,
    user_id       bigint      REFERENCES users (id) ON DELETE CASCADE,
    service       text        COLLATE "C",
    client_id     text        COLLATE "C" REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes        text[]      NOT NULL DEFAULT '{}',
    note          text        NOT NULL DEFAULT '',
    created       timestamptz NOT NULL,
    expires       timestamptz,
    last_activity timestamptz,
    CHECK ((user_id IS NULL) <> (service IS NULL))
) WITH (fillfactor = 90);

CREATE INDEX api_tokens_prefix ON api_tokens (prefix);
CREATE INDEX api_tokens_user ON api_tokens (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX api_tokens_service ON api_tokens (service) WHERE service IS NOT NULL;
CREATE INDEX api_tokens_client ON api_tokens (client_id) WHERE client_id IS NOT NULL;
CREATE INDEX api_tokens_expires ON api_tokens (expires) WHERE expires IS NOT NULL;
