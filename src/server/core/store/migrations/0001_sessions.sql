-- Refresh families: the decision data is one JSON body; `rev` is what compare-and-swap names,
-- `user_id` and `created_at_ms` serve MAX_SESSIONS_PER_USER, `expires_at_ms` the sweep.
CREATE TABLE families (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    rev           INTEGER NOT NULL,
    body          TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX families_by_user ON families (user_id, created_at_ms);
CREATE INDEX families_by_expiry ON families (expires_at_ms);

-- tower-sessions records (the browser session behind the first paint). The id is an i128,
-- kept as its decimal text.
CREATE TABLE records (
    id            TEXT PRIMARY KEY NOT NULL,
    data          TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX records_by_expiry ON records (expires_at_ms);

-- The revocation log other instances poll; entries older than an access token's lifetime are
-- swept.
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    floor      TEXT NOT NULL,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX revocations_by_time ON revocations (at_ms);

-- Generated secrets that must survive restarts (the signing key when JWT_SECRET is unset).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
