-- What hub replicas share to work as one. Leases elect one replica for
-- periodic work: one row per lease name, held by one owner until expires.
-- Values are a small key/value space with expiry (sealed login state);
-- used_keys marks keys used once (OAuth states) until they expire. Names
-- and keys are TEXT, compared bytewise (SQLite's default BINARY collation).
-- Times are INTEGER microseconds since the Unix epoch, UTC; NULL means
-- never.
CREATE TABLE leases (
    name    TEXT    PRIMARY KEY,
    holder  TEXT    NOT NULL,
    expires INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE kv_values (
    key     TEXT    PRIMARY KEY,
    value   BLOB    NOT NULL,
    expires INTEGER
) STRICT;

CREATE INDEX kv_values_expires ON kv_values (expires) WHERE expires IS NOT NULL;

CREATE TABLE used_keys (
    key     TEXT    PRIMARY KEY,
    expires INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX used_keys_expires ON used_keys (expires) WHERE expires IS NOT NULL;
