-- The sign-in throttle's state (failures per account and address, each account's backoff, each
-- address's quota): one small JSON body per key, `rev` for compare-and-swap, `expires_at_ms`
-- for the sweep, so a spray of made-up usernames leaves nothing behind once its window passes.
CREATE TABLE throttle (
    key           TEXT PRIMARY KEY NOT NULL,
    rev           INTEGER NOT NULL,
    body          TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX throttle_by_expiry ON throttle (expires_at_ms);
