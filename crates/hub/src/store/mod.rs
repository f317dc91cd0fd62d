//! Storage: the only module that speaks SQL. Two back ends behind one API: SQLite (WAL,
//! `synchronous = FULL`, so an acknowledged send survives a crash) as the embedded default, and
//! PostgreSQL at scale. Each method's SQL is written once with `?` placeholders and expanded for
//! both back ends (`on_pool!`); the migrations are per back end. One conformance suite
//! (`tests/conformance.rs`) runs against both.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, SqlitePool};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Backend {
    /// Readers, and the one writer (SQLite has a single writer; one connection avoids lock
    /// contention and busy-waiting between our own connections).
    Sqlite(SqlitePool, SqlitePool),
    Postgres(PgPool),
}

/// SQL as written (`?` placeholders): SQLite takes it as is.
fn sql_sqlite(s: &str) -> AssertSqlSafe<Cow<'static, str>> {
    AssertSqlSafe(Cow::Owned(s.to_owned()))
}

/// SQL for PostgreSQL: `?` → `$1`, `$2`, … (our statements never hold `?` in literals).
fn sql_postgres(s: &str) -> AssertSqlSafe<Cow<'static, str>> {
    let mut out = String::with_capacity(s.len() + 8);
    let mut n = 0;
    for c in s.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    AssertSqlSafe(Cow::Owned(out))
}

/// Expands a method body once per back end: `$pool` is the pool, `$sql` turns SQL with `?`
/// placeholders into the back end's form.
macro_rules! on_pool {
    ($self:expr, |$pool:ident, $sql:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite($pool, _) => {
                let $sql = sql_sqlite;
                $body
            }
            Backend::Postgres($pool) => {
                let $sql = sql_postgres;
                $body
            }
        }
    };
}

/// As `on_pool!`, for statements that write: SQLite's single writer connection.
macro_rules! on_writer {
    ($self:expr, |$pool:ident, $sql:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite(_, $pool) => {
                let $sql = sql_sqlite;
                $body
            }
            Backend::Postgres($pool) => {
                let $sql = sql_postgres;
                $body
            }
        }
    };
}

/// Errors of the store, never sqlx types. Storage faults are told apart from refusals and bugs,
/// so that the doors can answer "try again later" (503) for the former.
#[derive(Debug)]
pub enum StoreError {
    /// A uniqueness constraint was hit (e.g. a repeated idempotency key).
    Conflict(String),
    /// The storage is full (SQLITE_FULL, PostgreSQL `disk_full`, ENOSPC): nothing was written.
    Full(String),
    /// The database cannot be reached or cannot write now (connection refused or lost, pool
    /// exhausted, I/O error, server shutting down): nothing was acknowledged.
    Unavailable(String),
    /// Anything else, with context.
    Backend(String),
}

impl StoreError {
    /// A storage fault that goes away by itself (full, unavailable): worth a retry later.
    pub fn is_fault(&self) -> bool {
        matches!(self, StoreError::Full(_) | StoreError::Unavailable(_))
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(s) => write!(f, "conflict: {s}"),
            StoreError::Full(s) => write!(f, "storage full: {s}"),
            StoreError::Unavailable(s) => write!(f, "storage unavailable: {s}"),
            StoreError::Backend(s) => write!(f, "storage: {s}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// The class of a database error code: SQLite result codes (numbers; the primary code is the low
/// byte) and PostgreSQL SQLSTATEs (five characters).
fn classify_code(code: &str) -> Option<fn(String) -> StoreError> {
    if let Ok(n) = code.parse::<i64>()
        && code.len() < 5
    {
        // SQLite: 13 FULL; 10 IOERR, 14 CANTOPEN, 5 BUSY, 6 LOCKED, 8 READONLY, 15 PROTOCOL.
        return match n & 0xff {
            13 => Some(StoreError::Full),
            5 | 6 | 8 | 10 | 14 | 15 => Some(StoreError::Unavailable),
            _ => None,
        };
    }
    match code {
        "53100" => Some(StoreError::Full),
        // insufficient resources, connection exceptions, operator intervention (shutdown,
        // crash, cannot connect now), serialization failure and deadlock, read-only transaction.
        c if c.starts_with("53") || c.starts_with("08") || c.starts_with("57P") => Some(StoreError::Unavailable),
        "40001" | "40P01" | "25006" | "58030" => Some(StoreError::Unavailable),
        _ => None,
    }
}

fn io_is_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
            sqlx::Error::Database(d) => match d.code().as_deref().and_then(classify_code) {
                Some(class) => class(e.to_string()),
                None => StoreError::Backend(e.to_string()),
            },
            sqlx::Error::Io(io) if io_is_full(io) => StoreError::Full(e.to_string()),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
    /// Counts the changes that end API sessions (logout, a revoked terminal, a password set or
    /// reset, a disabled user) made through this process: a session remembered on a connection
    /// is taken again only while this is unchanged.
    sessions_epoch: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Sends waiting for SQLite's writer, committed together by whichever of them gets it
    /// first (group commit: one transaction and one fsync for all of them).
    sends: std::sync::Arc<std::sync::Mutex<Vec<messages::PendingSend>>>,
}

macro_rules! office_row {
    ($r:expr) => {{
        let r = $r;
        let kinds: String = r.get("kinds");
        Office {
            number: r.get("number"),
            name: r.get("name"),
            kinds: kinds.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            license_until: r.get("license_until"),
        }
    }};
}

macro_rules! user_row {
    ($r:expr) => {{
        let r = $r;
        User {
            id: r.get("id"),
            login: r.get("login"),
            office: r.get("office"),
            role: $crate::store::Role::parse(&r.get::<String, _>("role")),
            name: r.get("name"),
            password_hash: r.get("password_hash"),
            must_change: r.get::<i64, _>("must_change") != 0,
            failures: r.get("failures"),
            locked_until: r.get("locked_until"),
            web_failures: r.get("web_failures"),
            web_locked_until: r.get("web_locked_until"),
            disabled: r.get::<Option<i64>, _>("disabled_at").is_some(),
            password_set_at: r.get::<Option<i64>, _>("password_changed_at").unwrap_or_else(|| r.get("created_at")),
        }
    }};
}

macro_rules! terminal_row {
    ($r:expr) => {{
        let r = $r;
        Terminal {
            id: r.get("id"),
            office: r.get("office"),
            label: r.get("label"),
            serial: r.get("serial"),
            revoked_at: r.get("revoked_at"),
        }
    }};
}

/// Inserts a notice (`NewNotice`) on `$exec`; evaluates to its id.
macro_rules! insert_notice {
    ($exec:expr, $sql:ident, $n:expr, $now:expr) => {{
        let n = $n;
        let id: i64 = sqlx::query($sql(
            "INSERT INTO notices (public_id, office, prefecture, kind, title, body, published_at, starts_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        ))
        .bind(&n.public_id)
        .bind(&n.office)
        .bind(n.prefecture)
        .bind(&n.kind)
        .bind(&n.title)
        .bind(&n.body)
        .bind($now)
        .bind(n.starts_at)
        .bind(n.expires_at)
        .fetch_one($exec)
        .await?
        .get(0);
        id
    }};
}

/// The statement that writes an audit row; [`bind_audit!`] binds its values.
pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit (at, action, office, user_id, terminal_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)";

/// Binds an audit row's values to a query of [`INSERT_AUDIT`] (or one that ends with it).
macro_rules! bind_audit {
    ($q:expr, $a:expr, $now:expr) => {{
        let a = $a;
        $q.bind($now).bind(a.action.as_str()).bind(a.office).bind(a.user_id).bind(a.terminal_id).bind(a.ip).bind(&a.detail)
    }};
}

macro_rules! insert_audit {
    ($exec:expr, $sql:ident, $a:expr, $now:expr) => {{
        bind_audit!(sqlx::query($sql($crate::store::INSERT_AUDIT)), $a, $now).execute($exec).await?;
    }};
}

/// How long PostgreSQL keeps a session that sits idle inside a transaction (none of the
/// store's transactions waits on anything but the database).
const IDLE_IN_TRANSACTION: &str = "10s";

/// How the store connects.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a request waits for a connection (and SQLite for a lock) before the store
    /// answers [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// PostgreSQL connections per hub node.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { acquire_timeout: Duration::from_secs(10), max_connections: 16 }
    }
}

/// `true` when a SQLite connection is outside any transaction and may serve again. SQLite can
/// stay inside a transaction that sqlx believes ended (a COMMIT that failed with SQLITE_FULL
/// leaves it open; a ROLLBACK after SQLite already rolled back fails and leaves sqlx's count
/// behind). `BEGIN` fails inside a transaction, so `BEGIN; ROLLBACK` tells, and it runs after
/// any rollback still queued on the connection.
async fn sqlite_clean(conn: &mut sqlx::SqliteConnection) -> bool {
    if let Err(e) = sqlx::raw_sql("BEGIN; ROLLBACK").execute(&mut *conn).await {
        tracing::warn!(error = %e, "database connection left inside a transaction: closed and reopened");
        return false;
    }
    if sqlx::Connection::is_in_transaction(conn) {
        tracing::warn!("database connection with a transaction still counted: closed and reopened");
        return false;
    }
    true
}

impl Store {
    /// Opens a database by URL and migrates it: `sqlite:<path>` (created if missing) or
    /// `postgres://…`. Any other scheme is an error, never a new empty database.
    pub async fn open(url: &str) -> Result<Store> {
        Store::open_with(url, &StoreOptions::default()).await
    }

    /// As [`Store::open`], with options.
    ///
    /// Every connection is checked when it goes back to its pool: one that is still inside a
    /// transaction (a COMMIT that failed, a request cancelled mid-transaction, a ROLLBACK that
    /// failed) is closed instead of reused, so that a failed write can never make later writes
    /// land in a transaction that is never committed.
    pub async fn open_with(url: &str, o: &StoreOptions) -> Result<Store> {
        let backend = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(o.acquire_timeout);
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(o.acquire_timeout)
                .after_release(|conn, _| Box::pin(async move { Ok(sqlite_clean(conn).await) }))
                .connect_with(opts.clone())
                .await?;
            sqlx::migrate!("migrations/sqlite").run(&writer).await.map_err(|e| StoreError::Backend(e.to_string()))?;
            let readers = SqlitePoolOptions::new()
                .max_connections(8)
                .acquire_timeout(o.acquire_timeout)
                .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
                .connect_with(opts)
                .await?;
            Backend::Sqlite(readers, writer)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // A session that sits in an open transaction (a request cancelled between BEGIN and
            // its answer, a node stopped mid-way) is ended by the server within seconds, so that
            // the row locks it holds never stall the other connections and nodes.
            let opts =
                url.parse::<sqlx::postgres::PgConnectOptions>()?.options([("idle_in_transaction_session_timeout", IDLE_IN_TRANSACTION)]);
            let pool = PgPoolOptions::new()
                .max_connections(o.max_connections)
                .acquire_timeout(o.acquire_timeout)
                .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
                .connect_with(opts)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Backend(format!("unsupported database URL {url:?}: use sqlite:<path> or postgres://…")));
        };
        let store = Store { backend, sessions_epoch: Default::default(), sends: Default::default() };
        store.fill_search_keys().await?;
        Ok(store)
    }

    /// Closes the connections (after the last request).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(r, w) => {
                r.close().await;
                w.close().await;
            }
            Backend::Postgres(p) => p.close().await,
        }
    }

    /// A PostgreSQL setting of this store's sessions (`None` on SQLite), for tests.
    #[doc(hidden)]
    pub async fn session_setting(&self, name: &str) -> Result<Option<String>> {
        match &self.backend {
            Backend::Sqlite(..) => Ok(None),
            Backend::Postgres(pool) => Ok(Some(sqlx::query_scalar("SELECT current_setting($1)").bind(name).fetch_one(pool).await?)),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(..) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Proves that the database takes a durable write now (the readiness probe): one row per
    /// hub node, upserted.
    pub async fn probe_write(&self, node: &str, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO health_probe (node, probed_at) VALUES (?, ?) ON CONFLICT (node) DO UPDATE SET probed_at = excluded.probed_at",
            ))
            .bind(node)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

// The aggregates, one file each (declared after the macros above, which they use).
mod audit;
mod cluster;
mod delegations;
mod drafts;
mod history;
mod integrity;
mod invitations;
mod licences;
mod messages;
mod notices;
mod offices;
mod operators;
mod registry;
mod second_factor;
mod sessions;
mod stats;
mod status;
mod terminals;
mod users;

pub use audit::{Audit, AuditAction, AuditEntry, AuditRow};
pub use cluster::Listener;
pub use delegations::{DelegationRow, NewDelegation};
pub use drafts::{DraftChange, DraftRow, NewDraft};
pub use integrity::StoredContent;
pub use invitations::Invited;
pub use licences::{Campaign, DeductionRow, LicenseInfo, RenewalDue};
pub use messages::{EvidenceRow, Expired, FileRow, KeyedMessage, ListFilter, MessageRow, NewMessage, StoredFile};
pub use notices::{NewNotice, NoticeEdit, NoticeRow};
pub use offices::Office;
pub use operators::OperatorRow;
pub use registry::{Participant, ParticipantPage, ParticipantQuery, PrefectureUsage, RegistryRow};
pub use second_factor::{Account, SecondFactorRow};
pub use sessions::{ApiSession, AuthenticatedSession, WebDoor, WebSession};
pub use stats::{DayCount, PrefectureCount};
pub use status::StatusRow;
pub use terminals::{Terminal, TerminalDetail};
pub use users::{LockoutCounter, NewUser, Role, User};

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    fn class(code: &str) -> &'static str {
        match classify_code(code).map(|f| f(String::new())) {
            Some(StoreError::Full(_)) => "full",
            Some(StoreError::Unavailable(_)) => "unavailable",
            Some(_) => "other",
            None => "none",
        }
    }

    #[test]
    fn storage_faults_are_told_apart_from_refusals() {
        // SQLite: primary and extended result codes.
        assert_eq!(class("13"), "full");
        assert_eq!(class("10"), "unavailable");
        assert_eq!(class(&(10 | (4 << 8)).to_string()), "unavailable", "SQLITE_IOERR_WRITE");
        assert_eq!(class("5"), "unavailable", "SQLITE_BUSY");
        assert_eq!(class("2067"), "none", "SQLITE_CONSTRAINT_UNIQUE is a conflict, not a fault");
        assert_eq!(class("787"), "none", "SQLITE_CONSTRAINT_FOREIGNKEY");
        // PostgreSQL SQLSTATEs.
        assert_eq!(class("53100"), "full");
        assert_eq!(class("53300"), "unavailable", "too many connections");
        assert_eq!(class("08006"), "unavailable");
        assert_eq!(class("57P01"), "unavailable", "admin shutdown");
        assert_eq!(class("23505"), "none");
        assert_eq!(class("42P01"), "none", "a missing table is a bug, not a fault");
        let full = std::io::Error::from_raw_os_error(28);
        assert!(matches!(StoreError::from(sqlx::Error::Io(full)), StoreError::Full(_)));
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_fault());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_fault());
    }

    #[tokio::test]
    async fn a_connection_left_in_a_transaction_is_not_reused() {
        let dir = std::env::temp_dir().join(format!("renkei-store-poison-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite:{}", dir.join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        let Backend::Sqlite(_, writer) = &store.backend else { unreachable!() };
        let other = SqlitePool::connect(&url).await.unwrap();
        let committed = |node: &'static str| {
            let other = other.clone();
            async move {
                let n: i64 =
                    sqlx::query("SELECT COUNT(*) FROM health_probe WHERE node = ?").bind(node).fetch_one(&other).await.unwrap().get(0);
                n == 1
            }
        };

        // A COMMIT that fails (here a deferred foreign key; on a full disk SQLITE_FULL).
        let mut tx = writer.begin().await.unwrap();
        sqlx::raw_sql("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await.unwrap();
        sqlx::query("INSERT INTO files (message_id, idx, name, size, sha256) VALUES (999999, 0, 'x', 1, 'y')")
            .execute(&mut *tx)
            .await
            .unwrap();
        assert!(tx.commit().await.is_err(), "the deferred constraint fails the COMMIT");
        store.probe_write("after-commit", 1).await.unwrap();
        assert!(committed("after-commit").await);

        // SQLite inside a transaction that sqlx does not count (what a failed write on a full
        // disk left behind): the connection must be closed, not reused.
        {
            let mut conn = writer.acquire().await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await.unwrap();
        }
        store.probe_write("after-leak", 2).await.unwrap();
        assert!(committed("after-leak").await, "a write after a leaked transaction was acknowledged but never committed");
        other.close().await;
        store.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}
