//! The store: demo passwords, hashing slots, log names, redaction.

use super::*;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_demo_passwords_verify_and_wrong_ones_do_not() {
    let users = UserStore::demo(2);
    let check =
        |name: &'static str, password: &'static str| users.verify(name, password.into(), WAIT);
    let alice = check("alice", "wonderland").await.unwrap().unwrap();
    assert_eq!(alice.roles, ["user"]);
    let admin = check("admin", "admin-secret").await.unwrap().unwrap();
    assert!(admin.has_role("admin"));
    assert_eq!(check("alice", "admin-secret").await, Ok(None));
    assert_eq!(check("mallory", "wonderland").await, Ok(None));
}

#[tokio::test]
async fn a_check_that_finds_no_free_slot_in_time_is_refused_as_busy() {
    let users = UserStore::demo(1);
    let held = users.hashing.clone().try_acquire_owned().unwrap();
    let busy = users.verify("alice", "wonderland".into(), Duration::from_millis(5));
    assert_eq!(busy.await, Err(HashingBusy));
    drop(held);
    let free = users.verify("alice", "wonderland".into(), Duration::ZERO);
    assert!(
        free.await.unwrap().is_some(),
        "a free slot is taken at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_keep_at_most_one_working_buffer_per_hashing_slot() {
    let users = Arc::new(UserStore::demo(2));
    let checks = (0..8).map(|i| {
        let users = users.clone();
        let name = if i % 2 == 0 { "alice" } else { "mallory" };
        tokio::spawn(async move { users.verify(name, "wonderland".into(), WAIT).await })
    });
    for check in futures::future::join_all(checks).await {
        check.unwrap().unwrap();
    }
    assert_eq!(users.checks_started(), 8);
    assert!(
        (1..=2).contains(&users.memory.buffers()),
        "{:?}",
        users.memory
    );
    let printed = format!("{users:?}");
    assert!(
        printed.len() < 2_000,
        "no working memory in Debug: {} bytes",
        printed.len()
    );
}

#[test]
fn the_dummy_hash_uses_the_same_parameters_as_real_ones() {
    let users = UserStore::demo(1);
    let params = |hash: &str| hash.split('$').nth(3).unwrap().to_owned();
    let from_file = UserStore::new(&file::parse(CAROL).unwrap(), 1);
    for record in users.by_name.values().chain(from_file.by_name.values()) {
        assert_eq!(params(&record.password_hash.0), params(&DUMMY_HASH.0));
    }
    assert_eq!(params(&DUMMY_HASH.0), "m=19456,t=2,p=1");
}

#[test]
fn unknown_names_are_logged_as_a_stable_tag_never_verbatim() {
    let users = UserStore::demo(1);
    assert_eq!(users.log_name("alice"), "alice");
    let tag = users.log_name("hunter2-my-password");
    assert!(
        tag.starts_with("unknown#") && !tag.contains("hunter2"),
        "{tag}"
    );
    assert_eq!(tag.len(), "unknown#".len() + 8);
    assert_eq!(users.log_name("hunter2-my-password"), tag);
    assert_ne!(users.log_name("hunter3-my-password"), tag);
}

#[test]
fn debug_output_never_shows_a_hash() {
    let printed = format!("{:?}", UserStore::demo(1));
    assert!(!printed.contains("argon2id"), "{printed}");
    let printed = format!("{:?}", UserStore::new(&file::parse(CAROL).unwrap(), 1));
    assert!(!printed.contains("argon2id"), "{printed}");
    assert!(!printed.contains("carol-pass-123"), "{printed}");
}

// --- Users from a file ---

const CAROL: &str = r#"[{"username": "carol", "password": "carol-pass-123", "roles": ["user"],
    "claims": {"email": "carol@example.test", "name": "Carol Q.", "department": "qa"}}]"#;

#[tokio::test]
async fn a_file_replaces_the_built_in_users_and_its_plain_passwords_verify() {
    let users = UserStore::new(&file::parse(CAROL).unwrap(), 1);
    let carol = users.verify("carol", "carol-pass-123".into(), WAIT).await;
    let carol = carol.unwrap().expect("carol signs in");
    assert_eq!(
        (carol.id.as_str(), carol.roles.as_slice()),
        ("u-carol", &["user".to_owned()][..])
    );
    assert_eq!(users.verify("carol", "wrong".into(), WAIT).await, Ok(None));
    let alice = users.verify("alice", "wonderland".into(), WAIT).await;
    assert_eq!(alice, Ok(None), "no built-in users beside a file");
    assert_eq!(users.by_id("u-carol"), Some(carol));
    assert_eq!(users.by_id("u-alice"), None);
    assert_eq!(users.by_id("carol"), None, "ids carry their prefix");
}

#[test]
fn no_file_means_the_built_in_users() {
    let users = UserStore::new(&[], 1);
    assert!(users.by_id("u-alice").is_some() && users.by_id("u-admin").is_some());
}

#[test]
fn a_users_claims_are_released_by_the_granted_scope() {
    let users = UserStore::new(&file::parse(CAROL).unwrap(), 1);
    let names = |scope| {
        let mut names: Vec<_> = users.claims("u-carol", scope).keys().cloned().collect();
        names.sort();
        names
    };
    assert_eq!(names("openid email"), ["email"]);
    assert_eq!(names("openid profile"), ["department", "name"]);
    assert!(names("openid").is_empty());
    assert!(users.claims("u-nobody", "openid email profile").is_empty());
    assert!(UserStore::demo(1).claims("u-alice", "profile").is_empty());
}

#[test]
fn access_tokens_carry_only_the_claims_the_operator_named_and_the_scope_releases() {
    let users = UserStore::new(&file::parse(CAROL).unwrap(), 1);
    let named = ["email".to_owned(), "department".to_owned()];
    let names = |scope, names: &[String]| {
        let mut names: Vec<_> = users
            .access_token_claims("u-carol", scope, names)
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(None, &named), ["department", "email"], "first party");
    assert_eq!(names(Some("openid email"), &named), ["email"]);
    assert_eq!(names(Some("openid"), &named), Vec::<String>::new());
    assert!(names(None, &[]).is_empty(), "none unless asked for");
}
