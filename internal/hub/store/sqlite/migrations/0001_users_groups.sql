-- Users, groups and memberships. Times are INTEGER microseconds since the
-- Unix epoch, UTC; NULL means never.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    admin         INTEGER NOT NULL DEFAULT 0,
    created       INTEGER NOT NULL,
    last_activity INTEGER
) STRICT;

-- Auth state (the authenticator's tokens, encrypted by the hub; opaque
-- here) lives apart: it is large, rarely read, and would otherwise make
-- every scan of users read it.
CREATE TABLE user_auth_states (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state   BLOB    NOT NULL
) STRICT;

CREATE TABLE groups (
    id      INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL UNIQUE,
    created INTEGER NOT NULL
) STRICT;

CREATE TABLE user_groups (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_groups_group ON user_groups (group_id, user_id);
