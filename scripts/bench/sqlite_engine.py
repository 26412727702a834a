"""SQLite's own rate for a refresh's transaction, the limit any SQLite store can reach here.

One connection, the store's settings (WAL, synchronous=NORMAL) and its families table, 64
families; each transaction is what a refresh asks of the engine: BEGIN IMMEDIATE, select the
family, compare-and-swap its row, COMMIT. From Python, so the interpreter's overhead is
included: a lower bound for the engine, an upper bound for us. Prints one markdown table row.

    python3 scripts/bench/sqlite_engine.py <seconds> <scratch dir>
"""

import json
import os
import sqlite3
import sys
import time

seconds, scratch = float(sys.argv[1]), sys.argv[2]
path = os.path.join(scratch, "engine.db")
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.execute(
    "CREATE TABLE families (id TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL, "
    "created_at_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL, rev INTEGER NOT NULL, "
    "body TEXT NOT NULL) WITHOUT ROWID"
)
db.execute("CREATE INDEX families_by_user ON families (user_id, created_at_ms)")
db.execute("CREATE INDEX families_by_expiry ON families (expires_at_ms)")
# A body the size of the store's (a serialised FamilyRecord).
body = {"user_id": "u-alice", "generation": 0, "rotated_at_ms": 0, "created_at_ms": 0,
        "last_refresh_ms": 0, "next_access_ver": 0, "refreshes": 0,
        "faults": {"latency_ms": 0, "failing_refreshes": 0, "grace_window": True},
        "browser_session": 123456789012345678901234567890}
ids = [f"family-{n:02}-{os.urandom(8).hex()}" for n in range(64)]
for family in ids:
    db.execute("INSERT INTO families VALUES (?, 'u-alice', 0, 0, 1, ?)", (family, json.dumps(body)))

done = 0
began = time.perf_counter()
while time.perf_counter() - began < seconds:
    family = ids[done % len(ids)]
    db.execute("BEGIN IMMEDIATE")
    rev, stored = db.execute("SELECT rev, body FROM families WHERE id = ?", (family,)).fetchone()
    record = json.loads(stored)
    record["generation"] += 1
    record["refreshes"] += 1
    changed = db.execute(
        "UPDATE families SET rev = rev + 1, body = ?, expires_at_ms = ? WHERE id = ? AND rev = ?",
        (json.dumps(record), done, family, rev),
    ).rowcount
    db.execute("COMMIT")
    assert changed == 1
    done += 1
rate = done / (time.perf_counter() - began)
print(f"| [sqlite engine] one connection, WAL + synchronous=NORMAL: BEGIN IMMEDIATE, select the "
      f"family, compare-and-swap its row, COMMIT (python3 sqlite3 {sqlite3.sqlite_version}) "
      f"| {rate:.0f} transactions/s |")
