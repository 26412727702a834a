//! SQLite's one writer: a synchronous connection on a thread of its own that commits whatever
//! writes are queued in one transaction (group commit).
//!
//! Why not an async pool of one: sqlx runs each statement on its connection's own thread, so
//! every statement is two thread hand-offs and every transaction at least four, all serialised
//! on the one connection; and a commit per refresh pays SQLite's commit cost (a WAL frame
//! append, the lock) once per refresh. Here a write is one hand-off: the thread takes the first
//! queued write and everything queued behind it (up to [`GROUP_MAX`]), runs them inside one
//! `BEGIN IMMEDIATE` … `COMMIT`, each in a savepoint of its own so one failing write is rolled
//! back alone, and answers every caller after the commit: nobody hears "done" before it is.
//!
//! A write that panics fails alone (issue #34): its savepoint rolls back as the panic unwinds,
//! its caller hears an error, and the thread goes on with the rest of the group — a bug in one
//! write never leaves the store without a writer. `/readyz` sends a write through the thread
//! (`Store::ping`), so a writer that cannot write takes the instance out of rotation.

use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::server::core::store::{backend, StoreError, StoreResult};

/// Writes committed together at most: a bound on one transaction's length (and so on how long
/// the file's write lock is held), far above what two cores queue in the time of one commit.
const GROUP_MAX: usize = 256;

/// Writes waiting for the thread; a caller beyond it waits to queue (the store's timeout bounds
/// that wait), so a flood cannot grow the queue without bound.
const QUEUE: usize = 4096;

/// A write: runs on the connection inside the group's transaction (`Err` when the transaction
/// could not begin: it is then not run), and returns its caller's answer.
type Write = Box<dyn FnOnce(Result<&mut Connection, &str>) -> Answer + Send>;

/// What a write hands back to be sent once the group's commit is known.
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

enum Job {
    Write(Write),
    /// `PRAGMA wal_checkpoint(TRUNCATE)`, which SQLite refuses inside a transaction: run alone,
    /// between two groups.
    Checkpoint(oneshot::Sender<StoreResult<()>>),
}

pub struct Writer {
    jobs: mpsc::Sender<Job>,
    /// Dropped with the writer, which ends the checkpointer's thread.
    _checkpointer: std::sync::mpsc::Sender<()>,
}

/// How often the write-ahead log is copied into the file, beside the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// How often, and how far apart, the sweep's checkpoint tries while the checkpointer holds the
/// checkpoint lock (one `PASSIVE` copy: milliseconds). Seen in the bounds test: a sweep whose
/// checkpoint met the checkpointer's left both files as they were.
const CHECKPOINT_TRIES: u32 = 20;
const CHECKPOINT_RETRY_AFTER: Duration = Duration::from_millis(5);

/// The log's length (in pages) at which the writer's own commit checkpoints, so the log starts
/// over (SQLite's default, stated because [`Writer::open`] relies on it).
const WRITER_CHECKPOINTS_AT: u32 = 1_000;

impl Writer {
    /// Opens the writer's connection on `path` (the file exists and is migrated) and starts its
    /// thread, which ends when the `Writer` is dropped.
    pub fn open(path: &std::path::Path) -> StoreResult<Self> {
        let connection = Connection::open(path).map_err(backend)?;
        // WAL is the file's (set when it was created); NORMAL syncs at checkpoints only. Only
        // another process on the file can hold the write lock this connection wants: the busy
        // handler waits for that one, the store's timeout bounds the wait anyway.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(backend)?;
        // SQLite checkpoints from inside the COMMIT that grows the log past 1,000 pages: it
        // copies the log's pages into the file while every write queued behind that commit
        // waits. A checkpointer beside it copies them as they come, so the writer's checkpoint
        // has only the last few to copy before the log starts over, and when the checkpointer
        // holds the checkpoint lock the writer's passes without waiting. Measured on the
        // refresh benchmark: the writer alone lost a quarter of the throughput and 3 ms of p99
        // to its checkpoints; a checkpointer alone (no writer's checkpoint) left the log
        // growing for ever under steady writes, 2 GB in 15 s, since it never catches the end.
        connection
            .pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINTS_AT)
            .map_err(backend)?;
        let checkpointing = Connection::open(path).map_err(backend)?;
        checkpointing
            .busy_timeout(Duration::from_secs(5))
            .map_err(backend)?;
        let (checkpointer, stop) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_beside(checkpointing, stop))
            .map_err(backend)?;
        let (jobs, queued) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(connection, queued))
            .map_err(backend)?;
        Ok(Self {
            jobs,
            _checkpointer: checkpointer,
        })
    }

    /// Runs `work` on the writer inside the next group's transaction and returns what it
    /// returned, once that transaction committed. An error in `work` rolls back its own
    /// statements only.
    pub async fn write<T, W>(&self, work: W) -> StoreResult<T>
    where
        T: Send + 'static,
        W: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job = Job::Write(Box::new(move |connection| {
            let outcome = match connection {
                Ok(connection) => in_savepoint(connection, work),
                Err(why) => Err(StoreError::Backend(why.to_owned())),
            };
            Box::new(move |committed: Result<(), &str>| {
                let committed = committed.map_err(|why| StoreError::Backend(why.to_owned()));
                let _ = answer.send(committed.and(outcome));
            })
        }));
        self.queue(job).await?;
        answered.await.map_err(|_| stopped())?
    }

    /// Folds the write-ahead log into the file and truncates it (after a sweep, so both files
    /// shrink back).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        let (answer, answered) = oneshot::channel();
        self.queue(Job::Checkpoint(answer)).await?;
        answered.await.map_err(|_| stopped())?
    }

    async fn queue(&self, job: Job) -> StoreResult<()> {
        self.jobs.send(job).await.map_err(|_| stopped())
    }
}

fn in_savepoint<T>(
    connection: &mut Connection,
    work: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> StoreResult<T> {
    // Dropped without `commit` (an error below), a savepoint rolls back to where it began.
    let savepoint = connection.savepoint().map_err(backend)?;
    let value = work(&savepoint).map_err(backend)?;
    savepoint.commit().map_err(backend)?;
    Ok(value)
}

/// The writer thread: one group per turn, until every `Writer` handle is gone.
fn serve(mut connection: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(GROUP_MAX);
    while let Some(first) = jobs.blocking_recv() {
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(write) => group.push(write),
                Job::Checkpoint(answer) => {
                    commit_group(&mut connection, &mut group);
                    let _ = answer.send(checkpoint(&connection));
                }
            }
            if group.len() < GROUP_MAX {
                next = jobs.try_recv().ok();
            }
        }
        commit_group(&mut connection, &mut group);
    }
}

fn commit_group(connection: &mut Connection, group: &mut Vec<Write>) {
    if group.is_empty() {
        return;
    }
    let began = connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(|error| error.to_string());
    let mut answers = Vec::with_capacity(group.len());
    for write in group.drain(..) {
        let run = std::panic::AssertUnwindSafe(|| match &began {
            Ok(()) => write(Ok(&mut *connection)),
            Err(why) => write(Err(why)),
        });
        match std::panic::catch_unwind(run) {
            Ok(answer) => answers.push(answer),
            // Its caller's answer went with the panic: it hears the writer "stopped", 503.
            Err(_) => {
                metrics::counter!("tokenflight_store_write_panics_total").increment(1);
                tracing::error!("a store write panicked; it alone failed, the writer goes on");
            }
        }
    }
    let committed = began.and_then(|()| {
        connection.execute_batch("COMMIT").map_err(|error| {
            // A failed COMMIT may leave the transaction open: end it, so the next group can
            // begin. Every write of this one hears the failure.
            let _ = connection.execute_batch("ROLLBACK");
            error.to_string()
        })
    });
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(String::as_str));
    }
}

/// Copies the log into the file every [`CHECKPOINT_EVERY`], on a connection of its own: a
/// `PASSIVE` checkpoint copies what no reader still needs and never waits for (or stops) the
/// writer, so most of the copying and its syncs happen here, not in a commit.
fn checkpoint_beside(connection: Connection, stop: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(%error, "SQLite checkpoint failed; the next one retries");
        }
    }
}

fn checkpoint(connection: &Connection) -> StoreResult<()> {
    // Answers a row (busy, log pages, checkpointed pages). Busy, and nothing copied, when the
    // checkpointer beside the writer holds SQLite's checkpoint lock at that moment (SQLite
    // gives it to one connection at a time and does not wait for it): try again once that copy
    // is done. A reader still on an old snapshot makes it partial, which the next sweep finishes.
    for _ in 0..CHECKPOINT_TRIES {
        let busy: bool = connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .map_err(backend)?;
        if !busy {
            break;
        }
        std::thread::sleep(CHECKPOINT_RETRY_AFTER);
    }
    Ok(())
}

fn stopped() -> StoreError {
    StoreError::Backend("the SQLite writer stopped".into())
}
