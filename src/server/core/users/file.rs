//! `USERS_FILE`: the users an operator lists instead of the built-in `alice` and `admin`, checked
//! entry by entry at start-up so a typo stops the server with the entry and the reason, not
//! with a sign-in that fails for no visible cause.
//!
//! The file is a JSON array of objects with these fields, and no others:
//!
//! - `username` (required): 1 to 64 characters, lower case, no spaces around it and no control
//!   characters, since sign-in trims and lower-cases what is typed. Unique in the file. The
//!   user's `sub` is `u-<username>`, as for the built-in users.
//! - `password` or `password_hash`, exactly one: a plain password (for development; hashed
//!   here with the built-in users' argon2id parameters and the plain text wiped), or an argon2
//!   PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) whose memory cost is at most
//!   64 MiB, since every check of it holds that much.
//! - `roles` (optional, default none): a list of non-empty strings (`admin` opens the admin API).
//! - `claims` (optional): an object of the user's own claims, released to OIDC clients by the
//!   scope OIDC Core §5.4 gives them (see [`super::claims`]); standard claims must have their
//!   standard type, and no claim may be `null` or a name the provider sets
//!   ([`super::claims::RESERVED`]).
//!
//! Access tokens carry none of these claims: they stay the provider's own (`sub`, `sid`,
//! `ver`…), and a resource server that wants more asks userinfo with the token.
//!
//! Errors name the entry by index and username and never contain a password or a hash.
//!
//! `examples/users.json` is a sample: `carol` / `carol-pass-123` (plain password, claims),
//! `dave` / `dave-pass-456` (a `password_hash`, an admin) and `erin` / `erin-pass-789` (no
//! roles, no claims).

use std::{borrow::Cow, collections::HashSet, fmt};

use argon2::{
    password_hash::{PasswordHasher, SaltString},
    Algorithm, Argon2, Params, PasswordHash, Version,
};
use serde_json::{Map, Value};

use super::{claims, PasswordHashString};

/// The fields an entry may have.
const FIELDS: &[&str] = &["username", "password", "password_hash", "roles", "claims"];

const MAX_USERNAME_CHARS: usize = 64;

/// The largest argon2 memory cost a `password_hash` may ask for, in KiB.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

/// One user of a `USERS_FILE`, checked, its password already hashed. `Debug` shows the claims'
/// names only and never the hash.
#[derive(Clone)]
pub struct UserEntry {
    /// Lower case, unique in the file; the user's `sub` is `u-<username>`.
    pub username: String,
    /// As listed; none when the entry lists none.
    pub roles: Vec<String>,
    /// The user's own claims, checked (no reserved name, no `null`, standard types).
    pub claims: Map<String, Value>,
    pub(super) password_hash: PasswordHashString,
}

impl fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserEntry")
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .field("password_hash", &self.password_hash)
            .finish()
    }
}

/// Why a users file was refused: where (`entry 1 (dave), field password_hash`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {reason}")]
pub struct UsersFileError {
    /// `line 3, column 7`, `the file`, `entry 1 (dave)` or `entry 1 (dave), field roles`.
    pub place: String,
    /// What is wrong there, in words that never quote a value from the file.
    pub reason: &'static str,
}

/// Reads a users file's text: every entry checked, then the plain passwords hashed (argon2id,
/// ~20 ms each) — only once the whole file is known to be good.
pub fn parse(text: &str) -> Result<Vec<UserEntry>, UsersFileError> {
    let value: Value = serde_json::from_str(text).map_err(|error| UsersFileError {
        // The position only: serde's message may quote the text around it.
        place: format!("line {}, column {}", error.line(), error.column()),
        reason: "not JSON",
    })?;
    let refuse = |reason| UsersFileError {
        place: "the file".to_owned(),
        reason,
    };
    let Value::Array(items) = value else {
        return Err(refuse("expected a JSON array of users"));
    };
    if items.is_empty() {
        return Err(refuse(
            "the file lists no users (leave USERS_FILE unset for the built-in alice and admin)",
        ));
    }
    let mut names = HashSet::with_capacity(items.len());
    let mut checked = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let entry = check(index, item)?;
        if !names.insert(entry.username.clone()) {
            return Err(UsersFileError {
                place: place(index, Some(&entry.username)),
                reason: "duplicate username: an earlier entry has it",
            });
        }
        checked.push(entry);
    }
    Ok(checked.into_iter().map(Checked::hashed).collect())
}

/// An entry that passed every check; its password may still be plain.
struct Checked {
    username: String,
    roles: Vec<String>,
    claims: Map<String, Value>,
    secret: Secret,
}

enum Secret {
    Plain(PlainPassword),
    Hash(String),
}

impl Checked {
    fn hashed(self) -> UserEntry {
        let password_hash = match self.secret {
            Secret::Hash(hash) => PasswordHashString(Cow::Owned(hash)),
            Secret::Plain(password) => password.hash(),
        };
        UserEntry {
            username: self.username,
            roles: self.roles,
            claims: self.claims,
            password_hash,
        }
    }
}

/// A plain password from the file, overwritten with zeros when dropped — best effort: the
/// file's text is wiped by its reader, but a JSON escape may have left a copy in a parser
/// buffer.
struct PlainPassword(String);

impl PlainPassword {
    /// argon2id with the built-in users' parameters (OWASP's: m = 19 MiB, t = 2, p = 1), so a
    /// file user's check costs what an unknown user's does.
    fn hash(&self) -> PasswordHashString {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes fit");
        let params = Params::new(19_456, 2, 1, None).expect("OWASP's parameters are valid");
        let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2 hashes any password of a JSON string's length");
        PasswordHashString(Cow::Owned(hash.to_string()))
    }
}

impl Drop for PlainPassword {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0));
    }
}

/// Overwrites a string's bytes before they go back to the allocator.
pub fn wipe(text: String) {
    let mut bytes = text.into_bytes();
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

/// `entry 3 (carol)`, or `entry 3` when there is no usable username.
fn place(index: usize, username: Option<&str>) -> String {
    match username {
        Some(username) => format!("entry {index} ({username})"),
        None => format!("entry {index}"),
    }
}

/// A field or claim name as an error may show it: ours to show, unless it is too long or
/// unprintable to be a name someone meant.
fn shown(name: &str) -> &str {
    if name.chars().count() <= MAX_USERNAME_CHARS && !name.chars().any(char::is_control) {
        name
    } else {
        "(a name too long or unprintable to show)"
    }
}

fn check(index: usize, item: Value) -> Result<Checked, UsersFileError> {
    let Value::Object(mut fields) = item else {
        return Err(UsersFileError {
            place: place(index, None),
            reason: "expected a JSON object",
        });
    };
    let username = check_username(fields.remove("username")).map_err(|reason| UsersFileError {
        place: place(index, None),
        reason,
    })?;
    let at = place(index, Some(&username));
    let refuse = |field: &str, reason| UsersFileError {
        place: format!("{at}, field {}", shown(field)),
        reason,
    };
    if let Some(unknown) = fields
        .keys()
        .find(|field| !FIELDS.contains(&field.as_str()))
    {
        return Err(refuse(
            unknown,
            "unknown field (expected username, password, password_hash, roles, claims)",
        ));
    }
    let secret = match (fields.remove("password"), fields.remove("password_hash")) {
        (Some(_), Some(_)) => {
            return Err(UsersFileError {
                place: at,
                reason: "give either password or password_hash, not both",
            })
        }
        (None, None) => {
            return Err(UsersFileError {
                place: at,
                reason: "needs a password or a password_hash",
            })
        }
        (Some(Value::String(password)), None) => {
            let password = PlainPassword(password);
            if password.0.is_empty() {
                return Err(refuse("password", "the password is empty"));
            }
            Secret::Plain(password)
        }
        (Some(_), None) => return Err(refuse("password", "the password must be a string")),
        (None, Some(hash)) => {
            Secret::Hash(check_hash(hash).map_err(|reason| refuse("password_hash", reason))?)
        }
    };
    let roles = match fields.remove("roles") {
        None => Vec::new(),
        Some(roles) => check_roles(roles).map_err(|reason| refuse("roles", reason))?,
    };
    let claims = match fields.remove("claims") {
        None => Map::new(),
        Some(Value::Object(claims)) => claims,
        Some(_) => return Err(refuse("claims", "claims must be a JSON object")),
    };
    for (name, value) in &claims {
        check_claim(name, value).map_err(|reason| UsersFileError {
            place: format!("{at}, claim {}", shown(name)),
            reason,
        })?;
    }
    Ok(Checked {
        username,
        roles,
        claims,
        secret,
    })
}

fn check_username(value: Option<Value>) -> Result<String, &'static str> {
    let username = match value {
        None => return Err("missing username"),
        Some(Value::String(username)) => username,
        Some(_) => return Err("the username must be a string"),
    };
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_USERNAME_CHARS {
        return Err("a username has 1 to 64 characters");
    }
    if username != username.trim().to_lowercase() || username.chars().any(char::is_control) {
        return Err(
            "a username is lower case, with no spaces around it or control characters \
                    (sign-in trims and lower-cases what is typed)",
        );
    }
    Ok(username)
}

fn check_hash(value: Value) -> Result<String, &'static str> {
    const NOT_ARGON2: &str = "not an argon2 PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)";
    let Value::String(hash) = value else {
        return Err(NOT_ARGON2);
    };
    let parsed = PasswordHash::new(&hash).map_err(|_| NOT_ARGON2)?;
    // What `password::verify_in` needs to run a check: a known algorithm and version, and
    // parameters argon2 accepts.
    Algorithm::try_from(parsed.algorithm).map_err(|_| NOT_ARGON2)?;
    parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
        .map_err(|_| NOT_ARGON2)?;
    let params = Params::try_from(&parsed).map_err(|_| NOT_ARGON2)?;
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(NOT_ARGON2);
    }
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err("argon2 memory cost above 65536 KiB: every check would hold that much");
    }
    Ok(hash)
}

fn check_roles(value: Value) -> Result<Vec<String>, &'static str> {
    const REASON: &str = "roles must be a list of non-empty strings";
    let Value::Array(roles) = value else {
        return Err(REASON);
    };
    roles
        .into_iter()
        .map(|role| match role {
            Value::String(role) if !role.trim().is_empty() => Ok(role),
            _ => Err(REASON),
        })
        .collect()
}

fn check_claim(name: &str, value: &Value) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("a claim needs a name");
    }
    if claims::RESERVED.contains(&name) {
        return Err("a reserved claim, which the provider sets itself");
    }
    if value.is_null() {
        return Err("a claim may not be null (leave it out instead)");
    }
    match claims::standard_type(name) {
        Some(kind) if !kind.admits(value) => Err(kind.reason()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
