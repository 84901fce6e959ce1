-- Servers: one row per (user, server name) from the first spawn claim on.
-- pending/pending_owner/pending_expires are the claim that makes one hub
-- replica the only one acting on a server.
CREATE TABLE servers (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    -- spawner state, a JSON object of strings (the PVC name lives here)
    state           TEXT    NOT NULL DEFAULT '{}',
    -- '' when not running
    url             TEXT    NOT NULL DEFAULT '',
    started         INTEGER,
    last_activity   INTEGER,
    -- JSON object or NULL
    user_options    TEXT,
    pending         TEXT    NOT NULL DEFAULT ''
                            CHECK (pending IN ('', 'spawn', 'stop', 'check')),
    pending_owner   TEXT    NOT NULL DEFAULT '',
    pending_expires INTEGER,
    created         INTEGER NOT NULL,
    UNIQUE (user_id, name)
) STRICT;

-- Active servers (running or pending) only, covering the state filters:
-- the start-up query and state=active|ready|inactive read this small
-- index, not every server.
CREATE INDEX servers_active ON servers (user_id, url, pending) WHERE url <> '' OR pending <> '';
