//! `redis://host:port/db`: the shared store for several instances (Redis 7).
//!
//! Every write that must be atomic is one Lua script, which Redis runs without interleaving:
//! the family compare-and-swap checks `rev` and writes in the same step, with everything that
//! goes with it (indexes, the browser-session record the family lets go of). A refresh decision
//! is one script when this instance has seen the family's latest revision (the usual case: a
//! browser's refreshes reach the instance that answered its last one, or any instance once),
//! else one read and one script: each round trip on loopback costs about what the decision
//! does. Keys carry their
//! expiry (`PEXPIREAT`), so Redis itself purges what nobody sweeps. Key layout, under a prefix:
//! `family:<id>` (hash: rev, body), `families` and `records` (sorted sets by expiry, for counts
//! and sweeps), `user:<id>` (sorted set of a user's families by creation), `record:<id>`,
//! `signing-key`, `es256-key` and `token-format` ([`Store::keep_once`]), `revocations` (a
//! stream other instances poll), `throttle:<key>` (hash: rev, body; gone by TTL, nothing to
//! sweep). The remove script touches the
//! user's set through a key it derives, so this needs a standalone Redis (or a replica set), not
//! Redis Cluster.

use std::collections::HashMap;

use redis::{aio::ConnectionManager, AsyncCommands, Script};

use crate::server::core::store::{
    backend, decode, encode, seen::SeenFamilies, Cursor, Decide, FamilyRecord, FamilyWrite,
    Revocation, Store, StoreError, StoreResult, StoredRecord, ThrottleEntry, Versioned,
};

/// The `redis://` store: shared by every instance that names the same Redis and prefix.
pub struct RedisBackend {
    connection: ConnectionManager,
    prefix: String,
    insert: Script,
    commit: Script,
    /// What a decision is taken on without a read first ([`RedisBackend::decide_family`]).
    seen: SeenFamilies,
    remove: Script,
    create_record: Script,
    replace_throttle: Script,
}

/// KEYS: family, families, user. ARGV: body, expires_at_ms, id, created_at_ms.
const INSERT: &str = r"
redis.call('HSET', KEYS[1], 'rev', '1', 'body', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
if redis.call('PEXPIRETIME', KEYS[3]) < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[3], ARGV[2])
end
return 1
";

/// The compare-and-swap of a decision taken on revision `rev`, with the record the family lets
/// go of and the one it creates, in one round trip. With no body (a decision that writes
/// nothing) it only checks that the decision was taken on the stored revision. Answers `{"1"}`
/// when committed; otherwise what is stored, so the decision can be taken again without another
/// read: `{"0", rev, body}`, or `{"0"}` when the family is gone. A created record whose id is
/// taken fails it before anything is written.
/// KEYS: family, families, user, records, record to drop, record to create (unused when their
/// id is empty). ARGV: rev, body (empty: no write), expires_at_ms, id, id of the record to drop,
/// id of the record to create, its data, its expires_at_ms.
const COMMIT: &str = r"
local rev = redis.call('HGET', KEYS[1], 'rev')
if rev ~= ARGV[1] then
  if not rev then return {'0'} end
  return {'0', rev, redis.call('HGET', KEYS[1], 'body')}
end
if ARGV[2] == '' then return {'1'} end
if ARGV[6] ~= '' then
  if not redis.call('SET', KEYS[6], ARGV[7], 'NX', 'PXAT', ARGV[8]) then
    return redis.error_reply('a new browser-session record id is taken')
  end
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[6])
end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(ARGV[1]) + 1), 'body', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if redis.call('PEXPIRETIME', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('PEXPIREAT', KEYS[3], ARGV[3])
end
if ARGV[5] ~= '' then
  redis.call('DEL', KEYS[5])
  redis.call('ZREM', KEYS[4], ARGV[5])
end
return {'1'}
";

/// KEYS: family, families. ARGV: id, user-key prefix. Returns the body, or nil.
const REMOVE: &str = r"
local body = redis.call('HGET', KEYS[1], 'body')
if not body then return false end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', ARGV[2] .. cjson.decode(body).user_id, ARGV[1])
return body
";

/// A record unless its id is taken, with its index entry, in one round trip. KEYS: record,
/// records. ARGV: data, expires_at_ms, id.
const CREATE_RECORD: &str = r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PXAT', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
";

/// The throttle compare-and-swap. KEYS: entry. ARGV: rev (empty: there must be no entry), body,
/// expires_at_ms.
const REPLACE_THROTTLE: &str = r"
local rev = redis.call('HGET', KEYS[1], 'rev')
if (rev or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', tostring((tonumber(rev) or 0) + 1), 'body', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
";

impl RedisBackend {
    /// Commits a decision taken on revision `rev` of family `id` (see [`COMMIT`]); `false` when
    /// another writer got there first. Either way [`RedisBackend::seen`] then holds what is
    /// stored, for the next decision.
    async fn commit(&self, id: &str, rev: u64, write: Option<&FamilyWrite>) -> StoreResult<bool> {
        let mut invocation = self.commit.prepare_invoke();
        let user = write.map_or("", |write| write.family.user_id.as_str());
        invocation
            .key(self.key(&["family", id]))
            .key(self.key(&["families"]))
            .key(self.key(&["user", user]))
            .key(self.key(&["records"]))
            .arg(rev.to_string())
            .arg(
                write
                    .map(|write| encode(&write.family))
                    .transpose()?
                    .unwrap_or_default(),
            )
            .arg(write.map_or(0, |write| write.expires_at_ms))
            .arg(id);
        let dropped = write
            .and_then(|write| write.drop_record)
            .map(|record| record.to_string())
            .unwrap_or_default();
        invocation
            .key(self.key(&["record", &dropped]))
            .arg(&dropped);
        let created = write.and_then(|write| write.create_record.as_ref());
        let created_id = created.map(|(id, _)| id.to_string()).unwrap_or_default();
        invocation
            .key(self.key(&["record", &created_id]))
            .arg(&created_id)
            .arg(created.map_or("", |(_, record)| record.data.as_str()))
            .arg(created.map_or(0, |(_, record)| record.expires_at_ms));
        let answer: Vec<String> = invocation
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        match answer.as_slice() {
            [ok] => {
                let won = ok == "1";
                self.seen.committed(id, rev, write, won);
                Ok(won)
            }
            [_, rev, body] => {
                let stored = Versioned {
                    family: decode(body)?,
                    rev: rev
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("family revision {rev:?}")))?,
                };
                self.seen.loaded(id, Some(&stored));
                Ok(false)
            }
            _ => Err(StoreError::Corrupt(
                "unexpected answer to the family commit".into(),
            )),
        }
    }

    /// Connects with a connection manager, which reconnects by itself after Redis comes back.
    /// `prefix` namespaces every key (tests give each app its own).
    pub async fn connect(url: &str, prefix: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url).map_err(backend)?;
        let connection = ConnectionManager::new(client).await.map_err(backend)?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            insert: Script::new(INSERT),
            commit: Script::new(COMMIT),
            seen: SeenFamilies::default(),
            remove: Script::new(REMOVE),
            create_record: Script::new(CREATE_RECORD),
            replace_throttle: Script::new(REPLACE_THROTTLE),
        })
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }

    fn conn(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

#[async_trait::async_trait]
impl Store for RedisBackend {
    async fn load_family(&self, id: &str) -> StoreResult<Option<Versioned>> {
        let fields: HashMap<String, String> = self
            .conn()
            .hgetall(self.key(&["family", id]))
            .await
            .map_err(backend)?;
        let stored = match (fields.get("rev"), fields.get("body")) {
            (Some(rev), Some(body)) => Some(Versioned {
                family: decode(body)?,
                rev: rev
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("family revision {rev:?}")))?,
            }),
            _ => None,
        };
        self.seen.loaded(id, stored.as_ref());
        Ok(stored)
    }

    async fn insert_family(
        &self,
        id: &str,
        family: &FamilyRecord,
        expires_at_ms: u64,
    ) -> StoreResult<()> {
        let _: i64 = self
            .insert
            .key(self.key(&["family", id]))
            .key(self.key(&["families"]))
            .key(self.key(&["user", &family.user_id]))
            .arg(encode(family)?)
            .arg(expires_at_ms)
            .arg(id)
            .arg(family.created_at_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        self.seen.inserted(id, family);
        Ok(())
    }

    async fn replace_family(&self, id: &str, rev: u64, write: &FamilyWrite) -> StoreResult<bool> {
        self.commit(id, rev, Some(write)).await
    }

    /// One round trip when this instance has seen the family's latest revision (it wrote or
    /// read it last): the decision is taken on that copy and the `COMMIT` script applies it
    /// only if the stored revision is still that one. A decision that writes nothing (a refusal) is checked
    /// the same way, so nothing is ever refused on a stale copy. If another instance wrote in
    /// between, the commit answers with what is stored, and the caller's next call decides on
    /// that (one more round trip, no read). A family this instance has not seen is read first.
    async fn decide_family(&self, id: &str, decide: &mut Decide<'_>) -> StoreResult<bool> {
        let commit =
            async |rev, write: Option<FamilyWrite>| self.commit(id, rev, write.as_ref()).await;
        self.seen
            .decide(id, decide, self.load_family(id), commit)
            .await
    }

    async fn remove_family(&self, id: &str) -> StoreResult<Option<FamilyRecord>> {
        self.seen.forget(id);
        let body: Option<String> = self
            .remove
            .key(self.key(&["family", id]))
            .key(self.key(&["families"]))
            .arg(id)
            .arg(self.key(&["user", ""]))
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        body.as_deref().map(decode).transpose()
    }

    async fn user_families(&self, user_id: &str) -> StoreResult<Vec<(String, u64)>> {
        let user_key = self.key(&["user", user_id]);
        let members: Vec<(String, u64)> = self
            .conn()
            .zrange_withscores(&user_key, 0, -1)
            .await
            .map_err(backend)?;
        // Families that Redis expired by TTL leave their member behind: drop those here.
        let mut live = Vec::with_capacity(members.len());
        for (id, created) in members {
            let exists: bool = self
                .conn()
                .exists(self.key(&["family", &id]))
                .await
                .map_err(backend)?;
            if exists {
                live.push((id, created));
            } else {
                let _: i64 = self.conn().zrem(&user_key, &id).await.map_err(backend)?;
            }
        }
        Ok(live)
    }

    async fn count_families(&self) -> StoreResult<u64> {
        self.conn()
            .zcard(self.key(&["families"]))
            .await
            .map_err(backend)
    }

    async fn load_record(&self, id: i128) -> StoreResult<Option<StoredRecord>> {
        let key = self.key(&["record", &id.to_string()]);
        let (data, expires): (Option<String>, i64) = redis::pipe()
            .get(&key)
            .cmd("PEXPIRETIME")
            .arg(&key)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(data.map(|data| StoredRecord {
            data,
            expires_at_ms: expires.max(0) as u64,
        }))
    }

    async fn create_record(&self, id: i128, record: &StoredRecord) -> StoreResult<bool> {
        let id = id.to_string();
        let created: i64 = self
            .create_record
            .key(self.key(&["record", &id]))
            .key(self.key(&["records"]))
            .arg(&record.data)
            .arg(record.expires_at_ms)
            .arg(&id)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(created == 1)
    }

    async fn save_record(&self, id: i128, record: &StoredRecord) -> StoreResult<()> {
        let key = self.key(&["record", &id.to_string()]);
        let _: () = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(&record.data)
            .arg("PXAT")
            .arg(record.expires_at_ms)
            .ignore()
            .zadd(self.key(&["records"]), id.to_string(), record.expires_at_ms)
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_record(&self, id: i128) -> StoreResult<()> {
        let _: () = redis::pipe()
            .atomic()
            .del(self.key(&["record", &id.to_string()]))
            .ignore()
            .zrem(self.key(&["records"]), id.to_string())
            .ignore()
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn count_records(&self) -> StoreResult<u64> {
        self.conn()
            .zcard(self.key(&["records"]))
            .await
            .map_err(backend)
    }

    async fn publish_revocation(&self, revocation: &Revocation) -> StoreResult<()> {
        let _: String = redis::cmd("XADD")
            .arg(self.key(&["revocations"]))
            .arg("*")
            .arg("sid")
            .arg(&revocation.session_id)
            .arg("floor")
            .arg(revocation.floor.to_string())
            .arg("at")
            .arg(revocation.at_ms)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revocations_after(&self, cursor: &Cursor) -> StoreResult<(Vec<Revocation>, Cursor)> {
        let start = if cursor.0.is_empty() {
            "-".to_owned()
        } else {
            format!("({}", cursor.0)
        };
        let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
            .arg(self.key(&["revocations"]))
            .arg(start)
            .arg("+")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        let mut last = cursor.clone();
        let mut revocations = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let field = |name: &str| {
                fields
                    .get(name)
                    .ok_or_else(|| StoreError::Corrupt(format!("revocation without {name}")))
            };
            let number = |name: &str| -> StoreResult<u64> {
                field(name)?
                    .parse()
                    .map_err(|_| StoreError::Corrupt(format!("revocation {name}")))
            };
            revocations.push(Revocation {
                session_id: field("sid")?.clone(),
                floor: number("floor")?,
                at_ms: number("at")?,
            });
            last = Cursor(id);
        }
        Ok((revocations, last))
    }

    async fn load_throttle(&self, key: &str) -> StoreResult<Option<ThrottleEntry>> {
        let (rev, body): (Option<String>, Option<String>) = redis::cmd("HMGET")
            .arg(self.key(&["throttle", key]))
            .arg("rev")
            .arg("body")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        let (Some(rev), Some(body)) = (rev, body) else {
            return Ok(None);
        };
        Ok(Some(ThrottleEntry {
            body,
            rev: rev
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("throttle revision {rev:?}")))?,
        }))
    }

    async fn replace_throttle(
        &self,
        key: &str,
        rev: Option<u64>,
        body: &str,
        expires_at_ms: u64,
    ) -> StoreResult<bool> {
        let swapped: i64 = self
            .replace_throttle
            .key(self.key(&["throttle", key]))
            .arg(rev.map(|rev| rev.to_string()).unwrap_or_default())
            .arg(body)
            .arg(expires_at_ms)
            .invoke_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(swapped == 1)
    }

    async fn keep_once(&self, name: &str, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let key = self.key(&[name]);
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(candidate)
            .arg("NX")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        self.conn().get(&key).await.map_err(backend)
    }

    async fn sweep(&self, now_ms: u64, log_horizon_ms: u64) -> StoreResult<Vec<FamilyRecord>> {
        // Redis drops expired keys by itself (PEXPIREAT); this catches what it has not yet,
        // keeps the sorted-set indexes in step, and hands back the families it removed.
        let mut removed = Vec::new();
        let expired: Vec<String> = self
            .conn()
            .zrangebyscore(self.key(&["families"]), "-inf", now_ms)
            .await
            .map_err(backend)?;
        for id in expired {
            removed.extend(self.remove_family(&id).await?);
        }
        let records = self.key(&["records"]);
        let expired: Vec<String> = self
            .conn()
            .zrangebyscore(&records, "-inf", now_ms)
            .await
            .map_err(backend)?;
        if !expired.is_empty() {
            let keys: Vec<String> = expired.iter().map(|id| self.key(&["record", id])).collect();
            let _: () = redis::pipe()
                .atomic()
                .del(keys)
                .ignore()
                .zrembyscore(&records, "-inf", now_ms)
                .ignore()
                .query_async(&mut self.conn())
                .await
                .map_err(backend)?;
        }
        // Families Redis expired by TTL leave their index entry: drop those too.
        let _: i64 = self
            .conn()
            .zrembyscore(self.key(&["families"]), "-inf", now_ms)
            .await
            .map_err(backend)?;
        let _: i64 = redis::cmd("XTRIM")
            .arg(self.key(&["revocations"]))
            .arg("MINID")
            .arg(log_horizon_ms)
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(removed)
    }

    async fn ping(&self) -> StoreResult<()> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(backend)?;
        Ok(())
    }
}
