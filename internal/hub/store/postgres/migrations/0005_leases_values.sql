-- What hub replicas share to work as one. Leases elect one replica for
-- periodic work: one row per lease name, held by one owner until expires;
-- a replica takes or renews a lease with one INSERT … ON CONFLICT DO
-- UPDATE … WHERE, which locks the row. kv_values is a small key/value
-- space with expiry (sealed login state); used_keys marks keys used once
-- (OAuth states) until they expire. Names and keys are COLLATE "C", like
-- the other names. Times are timestamptz; NULL means never.
CREATE TABLE leases (
    name    text        COLLATE "C" PRIMARY KEY,
    holder  text        COLLATE "C" NOT NULL,
    expires timestamptz NOT NULL
);

CREATE TABLE kv_values (
    key     text        COLLATE "C" PRIMARY KEY,
    value   bytea       NOT NULL,
    expires timestamptz
);

CREATE INDEX kv_values_expires ON kv_values (expires) WHERE expires IS NOT NULL;

CREATE TABLE used_keys (
    key     text        COLLATE "C" PRIMARY KEY,
    expires timestamptz
);

CREATE INDEX used_keys_expires ON used_keys (expires) WHERE expires IS NOT NULL;
