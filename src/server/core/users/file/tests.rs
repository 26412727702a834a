//! `USERS_FILE` entries: what is accepted, each reason for refusal, and that a refusal names the
//! entry but never a password or a hash.

use serde_json::json;

use super::*;

/// A real argon2id hash (of `dave-pass-456`), with the built-in users' parameters.
const DAVE_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$2VsdvMFHUeoQEThjXRhA4g$ahOue8WvOYl3ZlIIUzwk38HdPlNPfmhQgryTahyY1m0";
const PASSWORD: &str = "SECRET-pw-1";

fn refused(users: Value) -> UsersFileError {
    parse(&users.to_string()).expect_err("refused")
}

fn carol(extra: Value) -> Value {
    let mut entry = json!({"username": "carol", "password": PASSWORD});
    entry
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    entry
}

#[test]
fn a_good_file_gives_entries_with_every_password_hashed() {
    let entries = parse(
        &json!([
            {"username": "carol", "password": "carol-pass-123", "roles": ["user"],
             "claims": {"email": "carol@example.test", "email_verified": true, "department": "qa",
                        "address": {"country": "NZ"}, "updated_at": 1700000000}},
            {"username": "dave", "password_hash": DAVE_HASH},
        ])
        .to_string(),
    )
    .unwrap();
    let [carol, dave] = &entries[..] else {
        panic!("two entries: {entries:?}")
    };
    assert_eq!(carol.username, "carol");
    assert_eq!(carol.roles, ["user"]);
    assert_eq!(carol.claims["department"], "qa");
    assert!(carol
        .password_hash
        .0
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(verifies(&carol.password_hash, "carol-pass-123"));
    assert!(dave.roles.is_empty(), "no roles unless listed");
    assert_eq!(
        dave.password_hash.0, DAVE_HASH,
        "a given hash is kept as it is"
    );
    assert!(verifies(&dave.password_hash, "dave-pass-456"));
    let printed = format!("{entries:?}");
    assert!(
        !printed.contains("argon2") && !printed.contains("carol@example.test"),
        "{printed}"
    );
}

/// Checks a hash the way sign-in does.
fn verifies(hash: &PasswordHashString, password: &str) -> bool {
    crate::server::core::password::WorkingMemory::keeping(1).verify(password.as_bytes(), &hash.0)
}

#[test]
fn text_that_is_not_a_json_array_of_users_is_refused() {
    let error = parse("[{\"username\": \"carol\",").unwrap_err();
    assert_eq!(
        (error.place.as_str(), error.reason),
        ("line 1, column 22", "not JSON")
    );
    let error = parse(r#"{"username": "carol"}"#).unwrap_err();
    assert_eq!(error.reason, "expected a JSON array of users");
    assert!(parse("[]").unwrap_err().reason.contains("lists no users"));
    let error = refused(json!([carol(json!({})), "dave"]));
    assert_eq!(
        (error.place.as_str(), error.reason),
        ("entry 1", "expected a JSON object")
    );
}

#[test]
fn a_username_is_required_unique_and_as_sign_in_sees_it() {
    let cases = [
        (json!({"password": PASSWORD}), "missing username"),
        (
            json!({"username": 7, "password": PASSWORD}),
            "must be a string",
        ),
        (
            json!({"username": "", "password": PASSWORD}),
            "1 to 64 characters",
        ),
        (
            json!({"username": "x".repeat(65), "password": PASSWORD}),
            "1 to 64 characters",
        ),
        (
            json!({"username": "Carol", "password": PASSWORD}),
            "lower case",
        ),
        (
            json!({"username": " carol", "password": PASSWORD}),
            "lower case",
        ),
        (
            json!({"username": "car\nol", "password": PASSWORD}),
            "control characters",
        ),
    ];
    for (entry, reason) in cases {
        let error = refused(json!([entry]));
        assert_eq!(error.place, "entry 0", "an unusable username is not shown");
        assert!(error.reason.contains(reason), "{error}");
    }
    let error = refused(
        json!([carol(json!({})), {"username": "dave", "password_hash": DAVE_HASH},
                               carol(json!({}))]),
    );
    assert_eq!(
        (error.place.as_str(), error.reason),
        (
            "entry 2 (carol)",
            "duplicate username: an earlier entry has it"
        )
    );
}

#[test]
fn an_unknown_field_is_named() {
    let error = refused(json!([carol(json!({"pasword": "x"}))]));
    assert_eq!(error.place, "entry 0 (carol), field pasword");
    assert!(error.reason.starts_with("unknown field"), "{error}");
    let error = refused(json!([carol(json!({"x".repeat(100): 1}))]));
    assert!(!error.place.contains("xxxx"), "{error}");
}

#[test]
fn exactly_one_of_password_and_password_hash_is_given() {
    let both = refused(json!([carol(json!({"password_hash": DAVE_HASH}))]));
    assert_eq!(
        (both.place.as_str(), both.reason),
        (
            "entry 0 (carol)",
            "give either password or password_hash, not both"
        )
    );
    let neither = refused(json!([{"username": "carol", "roles": ["user"]}]));
    assert_eq!(neither.reason, "needs a password or a password_hash");
    let empty = refused(json!([{"username": "carol", "password": ""}]));
    assert_eq!(
        (empty.place.as_str(), empty.reason),
        ("entry 0 (carol), field password", "the password is empty")
    );
    let number = refused(json!([{"username": "carol", "password": 1234}]));
    assert_eq!(number.reason, "the password must be a string");
}

#[test]
fn a_password_hash_must_be_an_argon2_phc_string_of_bounded_memory() {
    let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
    let scrypt =
        "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
    let no_output = "$argon2id$v=19$m=19456,t=2,p=1$2VsdvMFHUeoQEThjXRhA4g";
    let huge = DAVE_HASH.replace("m=19456", "m=1048576");
    for hash in [
        json!("plain text"),
        json!(bcrypt),
        json!(scrypt),
        json!(no_output),
        json!(42),
    ] {
        let error = refused(json!([{"username": "dave", "password_hash": hash}]));
        assert_eq!(error.place, "entry 0 (dave), field password_hash");
        assert!(
            error.reason.starts_with("not an argon2 PHC string"),
            "{error}"
        );
    }
    let error = refused(json!([{"username": "dave", "password_hash": huge}]));
    assert!(error.reason.contains("65536 KiB"), "{error}");
}

#[test]
fn roles_are_a_list_of_strings() {
    for roles in [
        json!("admin"),
        json!(["user", 7]),
        json!([""]),
        json!({"admin": true}),
    ] {
        let error = refused(json!([carol(json!({ "roles": roles }))]));
        assert_eq!(
            (error.place.as_str(), error.reason),
            (
                "entry 0 (carol), field roles",
                "roles must be a list of non-empty strings"
            )
        );
    }
}

#[test]
fn a_claim_may_not_override_one_the_provider_sets() {
    for reserved in [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "nonce",
        "sid",
        "auth_time",
        "roles",
        "preferred_username",
        "azp",
        "scope",
    ] {
        let error = refused(json!([carol(json!({"claims": { reserved: "x" }}))]));
        assert_eq!(error.place, format!("entry 0 (carol), claim {reserved}"));
        assert!(error.reason.contains("reserved"), "{error}");
    }
}

#[test]
fn claims_are_an_object_of_non_null_values_standard_ones_of_their_type() {
    let error = refused(json!([carol(json!({"claims": ["email"]}))]));
    assert_eq!(error.reason, "claims must be a JSON object");
    let cases = [
        (json!({"department": null}), "department", "may not be null"),
        (
            json!({"email_verified": "yes"}),
            "email_verified",
            "true or false",
        ),
        (json!({"email": ["a@b.test"]}), "email", "a string"),
        (json!({"address": "1 Main St"}), "address", "a JSON object"),
        (json!({"": 1}), "", "needs a name"),
    ];
    for (claims, name, reason) in cases {
        let error = refused(json!([carol(json!({ "claims": claims }))]));
        assert_eq!(error.place, format!("entry 0 (carol), claim {name}"));
        assert!(error.reason.contains(reason), "{error}");
    }
    let custom = json!([carol(json!({"claims": {"teams": ["a", "b"], "level": 3}}))]);
    assert!(
        parse(&custom.to_string()).is_ok(),
        "other claims may be any value"
    );
}

#[test]
fn no_refusal_ever_shows_a_password_or_a_hash() {
    let entries = [
        json!([carol(json!({"password_hash": DAVE_HASH}))]),
        json!([carol(json!({"claims": {"sub": PASSWORD}}))]),
        json!([carol(json!({"roles": PASSWORD}))]),
        json!([carol(json!({"claims": {"email": [PASSWORD]}}))]),
        json!([{"username": "dave", "password_hash": PASSWORD}]),
        json!([{"username": "dave", "password_hash": DAVE_HASH.replace("m=19456", "m=999999")}]),
        json!([{"username": PASSWORD, "password": "x"}]),
        json!([carol(json!({})), carol(json!({}))]),
    ];
    for entry in entries {
        let message = refused(entry).to_string();
        for secret in [PASSWORD, "m=19456", &DAVE_HASH[31..50]] {
            assert!(!message.contains(secret), "{message}");
        }
        assert!(
            message.starts_with("entry 0") || message.starts_with("entry 1"),
            "{message}"
        );
    }
}
