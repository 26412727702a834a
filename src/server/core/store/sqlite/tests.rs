//! Decisions on a copy another process made stale: two backends on one file, as two
//! instances (or an operator's tool) would have it. The compare-and-swap must catch every
//! stale copy, refusals included.

use super::*;

/// The file and its `-wal`/`-shm` siblings, removed when the test ends (also on failure).
struct ScratchFile(std::path::PathBuf);

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn two_backends_on_one_file() -> (SqliteBackend, SqliteBackend, ScratchFile) {
    let name = format!("tokenflight-seen-{}.db", rand::random::<u64>());
    let file = ScratchFile(std::env::temp_dir().join(name));
    let url = format!("sqlite://{}", file.0.display());
    let first = SqliteBackend::open(&url).await.unwrap();
    (first, SqliteBackend::open(&url).await.unwrap(), file)
}

/// Family "f" at generation 0, which `this` has seen, and which `other` has since rotated to
/// generation 1 behind its back: `this` holds a stale copy.
async fn a_copy_made_stale_by_another_process() -> (SqliteBackend, SqliteBackend, ScratchFile) {
    let (this, other, file) = two_backends_on_one_file().await;
    this.insert_family("f", &family(0), u64::MAX / 4)
        .await
        .unwrap();
    assert!(other
        .decide_family("f", &mut rotate(&mut vec![]))
        .await
        .unwrap());
    (this, other, file)
}

fn family(generation: u64) -> FamilyRecord {
    FamilyRecord {
        generation,
        ..FamilyRecord::new("u-alice", crate::server::core::store::FIRST_PARTY_CLIENT, 0)
    }
}

/// A rotation: generation + 1, as `families::rotation` writes it.
fn rotate(seen: &mut Vec<u64>) -> impl FnMut(Option<&FamilyRecord>) -> Option<FamilyWrite> + '_ {
    move |stored| {
        let mut family = stored?.clone();
        seen.push(family.generation);
        family.generation += 1;
        Some(FamilyWrite {
            family,
            expires_at_ms: u64::MAX / 4,
            drop_record: None,
            create_record: None,
        })
    }
}

#[tokio::test]
async fn a_write_decided_on_a_stale_copy_loses_and_the_next_attempt_sees_the_other_write() {
    let (this, other, _file) = a_copy_made_stale_by_another_process().await;

    let mut decided_on = vec![];
    assert!(!this
        .decide_family("f", &mut rotate(&mut decided_on))
        .await
        .unwrap());
    assert!(this
        .decide_family("f", &mut rotate(&mut decided_on))
        .await
        .unwrap());
    assert_eq!(decided_on, [0, 1], "the retry decided on the other's write");
    let stored = other.load_family("f").await.unwrap().unwrap();
    assert_eq!(
        (stored.family.generation, stored.rev),
        (2, 3),
        "no rotation lost"
    );
}

#[tokio::test]
async fn a_refusal_decided_on_a_stale_copy_is_not_committed() {
    let (this, _other, _file) = a_copy_made_stale_by_another_process().await;

    // A credential of generation 1 looks like reuse to the stale copy (generation 0): that
    // verdict must not stand.
    let mut verdicts = vec![];
    let mut refuse_unless_current = |stored: Option<&FamilyRecord>| {
        verdicts.push(stored.map(|family| family.generation));
        None
    };
    assert!(!this
        .decide_family("f", &mut refuse_unless_current)
        .await
        .unwrap());
    assert!(this
        .decide_family("f", &mut refuse_unless_current)
        .await
        .unwrap());
    assert_eq!(verdicts, [Some(0), Some(1)]);
}

/// A new record's id that is taken fails the family's write with it: no family moves on to a
/// record it shares with someone else.
#[tokio::test]
async fn a_write_whose_new_record_id_is_taken_writes_nothing() {
    let (store, _other, _file) = two_backends_on_one_file().await;
    store
        .insert_family("f", &family(0), u64::MAX / 4)
        .await
        .unwrap();
    let taken = StoredRecord {
        data: "{}".into(),
        expires_at_ms: u64::MAX / 4,
    };
    assert!(store.create_record(7, &taken).await.unwrap());
    let mut rotate_onto_record_7 = |stored: Option<&FamilyRecord>| {
        let mut family = stored?.clone();
        family.generation += 1;
        Some(FamilyWrite {
            family,
            expires_at_ms: u64::MAX / 4,
            drop_record: None,
            create_record: Some((7, taken.clone())),
        })
    };
    assert!(store
        .decide_family("f", &mut rotate_onto_record_7)
        .await
        .is_err());
    let stored = store.load_family("f").await.unwrap().unwrap();
    assert_eq!((stored.family.generation, stored.rev), (0, 1));
}

/// Issue #34 point 2: a write that panics fails alone — its caller hears an error, what it
/// wrote is rolled back — and the writer goes on: the next write, and `ping`, succeed.
#[tokio::test]
async fn a_write_that_panics_fails_alone_and_the_writer_goes_on() {
    let (store, _other, _file) = two_backends_on_one_file().await;
    let panicked = store
        .writer
        .write(|db| -> rusqlite::Result<()> {
            execute(
                db,
                "INSERT INTO secrets (name, value) VALUES ('half-done', x'00')",
                [],
            )?;
            panic!("a bug in one write");
        })
        .await;
    assert!(panicked.is_err());
    assert_eq!(store.keep_once("after", b"1").await.unwrap(), b"1");
    store.ping().await.unwrap();
    let half_done: Option<Vec<u8>> = store
        .writer
        .write(|db| {
            db.query_row(
                "SELECT value FROM secrets WHERE name = 'half-done'",
                [],
                |row| row.get(0),
            )
            .optional()
        })
        .await
        .unwrap();
    assert_eq!(half_done, None, "rolled back with its savepoint");
}
