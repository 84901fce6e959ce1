-- Users, groups and memberships. Names are COLLATE "C": they compare and
-- sort bytewise, like Go strings, whatever the database's default
-- collation. Times are timestamptz (microseconds); NULL means never.
-- Tables whose last_activity the activity batcher updates keep 10% of
-- each page free, so that those updates stay on the page (HOT) and touch
-- no index.
CREATE TABLE users (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        COLLATE "C" NOT NULL UNIQUE,
    admin         boolean     NOT NULL DEFAULT false,
    created       timestamptz NOT NULL,
    last_activity timestamptz
) WITH (fillfactor = 90);

-- Auth state (the authenticator's tokens, encrypted by the hub; opaque
-- here) lives apart: it is large, rarely read, and would otherwise be read
-- with every scan of users.
CREATE TABLE user_auth_states (
    user_id bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    state   bytea  NOT NULL
);

CREATE TABLE groups (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text        COLLATE "C" NOT NULL UNIQUE,
    created timestamptz NOT NULL
);

CREATE TABLE user_groups (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

CREATE INDEX user_groups_group ON user_groups (group_id, user_id);
