-- Servers: one row per (user, server name) from the first spawn claim on.
-- pending, pending_owner and pending_expires are the claim that makes one
-- hub replica the only one acting on a server; a claim locks the row
-- (SELECT … FOR UPDATE) while it decides.
CREATE TABLE servers (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text        COLLATE "C" NOT NULL,
    -- spawner state, a JSON object of strings (the PVC name lives here)
    state           jsonb       NOT NULL DEFAULT '{}',
    -- '' when not running
    url             text        NOT NULL DEFAULT '',
    started         timestamptz,
    last_activity   timestamptz,
    -- a JSON object, or NULL
    user_options    jsonb,
    pending         text        NOT NULL DEFAULT ''
                                CHECK (pending IN ('', 'spawn', 'stop', 'check')),
    pending_owner   text        NOT NULL DEFAULT '',
    pending_expires timestamptz,
    created         timestamptz NOT NULL,
    UNIQUE (user_id, name)
) WITH (fillfactor = 90);

-- Active servers (running or pending) only: the start-up query and the
-- state=active|ready|inactive filters read this small index, not every
-- server.
CREATE INDEX servers_active ON servers (user_id) INCLUDE (url, pending)
    WHERE url <> '' OR pending <> '';
