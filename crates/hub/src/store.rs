//! Storage: the only module that speaks SQL. Two back ends behind one API: SQLite (WAL,
//! `synchronous = FULL`, so an acknowledged send survives a crash) as the embedded default, and
//! PostgreSQL at scale. Each method's SQL is written once with `?` placeholders and expanded for
//! both back ends (`on_pool!`); the migrations are per back end. One conformance suite
//! (`tests/conformance.rs`) runs against both.

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlitePool};
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

/// An office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Office {
    /// 事業所番号.
    pub number: String,
    /// Name.
    pub name: String,
    /// サービス種類コード.
    pub kinds: Vec<String>,
    /// License valid through (YYYY-MM-DD).
    pub license_until: Option<String>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Login ID.
    pub login: String,
    /// Office.
    pub office: String,
    /// `admin` or `staff`.
    pub role: String,
    /// Display name.
    pub name: String,
    /// PHC string.
    pub password_hash: String,
    /// Temporary password.
    pub must_change: bool,
    /// Consecutive failures.
    pub failures: i64,
    /// Locked until (unix seconds).
    pub locked_until: Option<i64>,
    /// Consecutive failures without a terminal certificate (portal, enrolment).
    pub web_failures: i64,
    /// Locked for logins without a terminal certificate until (unix seconds).
    pub web_locked_until: Option<i64>,
    /// Disabled by the office administrator.
    pub disabled: bool,
    /// When the password was last set (unix seconds; creation if never changed).
    pub password_set_at: i64,
}

/// A user to add.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// Login ID.
    pub login: &'a str,
    /// Office.
    pub office: &'a str,
    /// `admin` or `staff`.
    pub role: &'a str,
    /// Display name.
    pub name: &'a str,
    /// PHC string.
    pub password_hash: &'a str,
    /// Temporary password (must be changed at first login).
    pub must_change: bool,
}

/// An enrolled terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// Id (certificate CN).
    pub id: String,
    /// Office it acts for.
    pub office: String,
    /// Label.
    pub label: String,
    /// Serial (hex).
    pub serial: String,
    /// Revoked at.
    pub revoked_at: Option<i64>,
}

/// A stored file of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Position.
    pub idx: i64,
    /// Name.
    pub name: String,
    /// Standard kind prefix.
    pub kind: Option<String>,
    /// Service month YYYYMM.
    pub service_month: Option<String>,
    /// Size.
    pub size: i64,
    /// SHA-256 hex.
    pub sha256: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// Internal id (ordering, cursors).
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Sender office.
    pub sender: String,
    /// Recipient office.
    pub recipient: String,
    /// Note.
    pub note: String,
    /// Sent at.
    pub sent_at: i64,
    /// Fetched at.
    pub fetched_at: Option<i64>,
    /// Opened at.
    pub opened_at: Option<i64>,
    /// Expired unfetched at.
    pub expired_at: Option<i64>,
    /// Content purged at.
    pub purged_at: Option<i64>,
    /// Files.
    pub files: Vec<FileRow>,
}

/// A notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Target office (`None`: everyone).
    pub office: Option<String>,
    /// `operator` or `non_delivery`.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Published at.
    pub published_at: i64,
}

/// A message that just expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// Public id.
    pub public_id: String,
    /// Sender.
    pub sender: String,
    /// Recipient.
    pub recipient: String,
    /// Sent at.
    pub sent_at: i64,
    /// The non-delivery notice created for the sender.
    pub notice: NoticeRow,
}

/// A new message to store (blobs already written).
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Public id.
    pub public_id: String,
    /// Sender office.
    pub sender: String,
    /// Recipient office.
    pub recipient: String,
    /// Note.
    pub note: String,
    /// User.
    pub sent_by: i64,
    /// Terminal.
    pub sent_terminal: String,
    /// Time.
    pub sent_at: i64,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Digest of the request the key was sent with (a later request with the same key must
    /// have the same digest to be answered with this message).
    pub idempotency_digest: Option<String>,
    /// Files.
    pub files: Vec<FileRow>,
    /// The draft `(id, version)` this message consumes: deleted in the same transaction, and the
    /// insert fails with [`StoreError::Conflict`] if it changed meanwhile.
    pub from_draft: Option<(i64, i64)>,
}

/// A draft to create.
#[derive(Debug, Clone, Copy)]
pub struct NewDraft<'a> {
    /// Public id.
    pub public_id: &'a str,
    /// Office.
    pub office: &'a str,
    /// Recipient (may be empty).
    pub recipient: &'a str,
    /// Note.
    pub note: &'a str,
    /// Creating user.
    pub user: i64,
    /// Files (blobs already stored).
    pub files: &'a [FileRow],
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    /// Internal id.
    pub id: i64,
    /// Public id.
    pub public_id: String,
    /// Office.
    pub office: String,
    /// Recipient (may be empty).
    pub recipient: String,
    /// Note.
    pub note: String,
    /// Version.
    pub version: i64,
    /// Display name of the last editor.
    pub updated_by: String,
    /// Last change.
    pub updated_at: i64,
    /// Files (kind/month empty).
    pub files: Vec<FileRow>,
}

/// Inbox / sent filters, already validated.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only unfetched (`Some(false)`) or fetched (`Some(true)`).
    pub fetched: Option<bool>,
    /// The other office.
    pub counterpart: Option<String>,
    /// A file kind.
    pub kind: Option<String>,
    /// A service month.
    pub month: Option<String>,
    /// Sent at ≥ (unix seconds).
    pub since: Option<i64>,
    /// Sent at < (unix seconds).
    pub until: Option<i64>,
    /// Internal id < cursor.
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// An audit entry.
#[derive(Debug, Clone, Default)]
pub struct Audit<'a> {
    /// What happened (login, enrol, send, fetch, open, revoke, admin…).
    pub action: &'a str,
    /// Office concerned.
    pub office: Option<&'a str>,
    /// User.
    pub user_id: Option<i64>,
    /// Terminal.
    pub terminal_id: Option<&'a str>,
    /// Peer IP.
    pub ip: Option<&'a str>,
    /// Detail (JSON or text).
    pub detail: String,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    backend: Backend,
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
            role: r.get("role"),
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

macro_rules! insert_audit {
    ($exec:expr, $sql:ident, $a:expr, $now:expr) => {{
        let a = $a;
        sqlx::query($sql("INSERT INTO audit (at, action, office, user_id, terminal_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"))
            .bind($now)
            .bind(a.action)
            .bind(a.office)
            .bind(a.user_id)
            .bind(a.terminal_id)
            .bind(a.ip)
            .bind(&a.detail)
            .execute($exec)
            .await?;
    }};
}

/// Which consecutive-failure counter a login attempt counts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutCounter {
    /// A user logging in from an enrolled terminal (certificate).
    Terminal,
    /// A user logging in without a certificate (portal, terminal enrolment).
    Web,
    /// An operator (console).
    Operator,
}

impl LockoutCounter {
    /// (table, failures column, locked-until column): fixed names, never input.
    fn columns(self) -> (&'static str, &'static str, &'static str) {
        match self {
            LockoutCounter::Terminal => ("users", "failures", "locked_until"),
            LockoutCounter::Web => ("users", "web_failures", "web_locked_until"),
            LockoutCounter::Operator => ("operators", "failures", "locked_until"),
        }
    }
}

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
            let pool = PgPoolOptions::new()
                .max_connections(o.max_connections)
                .acquire_timeout(o.acquire_timeout)
                .after_release(|conn, _| Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) }))
                .connect(url)
                .await?;
            sqlx::migrate!("migrations/postgres").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::Backend(format!("unsupported database URL {url:?}: use sqlite:<path> or postgres://…")));
        };
        Ok(Store { backend })
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

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(..) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Adds or updates an office.
    pub async fn upsert_office(&self, o: &Office, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO offices (number, name, kinds, license_until, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET name = excluded.name, kinds = excluded.kinds, license_until = excluded.license_until"))
                .bind(&o.number)
                .bind(&o.name)
                .bind(o.kinds.join(","))
                .bind(&o.license_until)
                .bind(now)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Looks an office up.
    pub async fn office(&self, number: &str) -> Result<Option<Office>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT number, name, kinds, license_until FROM offices WHERE number = ?"))
                .bind(number)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| office_row!(&r)))
        })
    }

    /// All offices.
    pub async fn offices(&self) -> Result<Vec<Office>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, name, kinds, license_until FROM offices ORDER BY number")).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| office_row!(r)).collect())
        })
    }

    /// Adds a user; returns its id.
    pub async fn add_user(&self, u: &NewUser<'_>, now: i64) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql("INSERT INTO users (login, office, role, name, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"))
                .bind(u.login)
                .bind(u.office)
                .bind(u.role)
                .bind(u.name)
                .bind(u.password_hash)
                .bind(i64::from(u.must_change))
                .bind(now)
                .fetch_one(pool)
                .await?;
            Ok(r.get(0))
        })
    }

    /// A user by login ID.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT * FROM users WHERE login = ?")).bind(login).fetch_optional(pool).await?;
            Ok(r.map(|r| user_row!(&r)))
        })
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT * FROM users WHERE id = ?")).bind(id).fetch_optional(pool).await?;
            Ok(r.map(|r| user_row!(&r)))
        })
    }

    /// Records a login attempt on one lockout counter: a success clears it; a failure counts
    /// (starting again from 1 when an earlier lock has ended) and locks until `lock_until` when
    /// `max` consecutive failures are reached. Returns the failure count.
    pub async fn login_attempt(&self, counter: LockoutCounter, id: i64, ok: bool, now: i64, max: i64, lock_until: i64) -> Result<i64> {
        let (table, f, l) = counter.columns();
        on_writer!(self, |pool, sql| {
            if ok {
                sqlx::query(sql(&format!("UPDATE {table} SET {f} = 0, {l} = NULL WHERE id = ?"))).bind(id).execute(pool).await?;
                return Ok(0);
            }
            let ended = format!("{l} IS NOT NULL AND {l} <= ?");
            let r = sqlx::query(sql(&format!(
                "UPDATE {table} SET {f} = CASE WHEN {ended} THEN 1 ELSE {f} + 1 END, \
                 {l} = CASE WHEN (CASE WHEN {ended} THEN 1 ELSE {f} + 1 END) >= ? THEN ? WHEN {ended} THEN NULL ELSE {l} END \
                 WHERE id = ? RETURNING {f}"
            )))
            .bind(now)
            .bind(now)
            .bind(max)
            .bind(lock_until)
            .bind(now)
            .bind(id)
            .fetch_one(pool)
            .await?;
            Ok(r.get(0))
        })
    }

    /// Sets a password and ends every session of the user but `keep_api` / `keep_portal` (the
    /// session that made the change), with its audit row, in one transaction.
    pub async fn set_password_ending_sessions(
        &self,
        id: i64,
        hash: &str,
        must_change: bool,
        keep: (Option<&str>, Option<&str>),
        audit: Audit<'_>,
        now: i64,
    ) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE users SET password_hash = ?, must_change = ?, failures = 0, locked_until = NULL, web_failures = 0, web_locked_until = NULL, password_changed_at = ? WHERE id = ?"))
                .bind(hash)
                .bind(i64::from(must_change))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?"))
                .bind(id)
                .bind(keep.0.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ? AND token_hash <> ?"))
                .bind(id)
                .bind(keep.1.unwrap_or(""))
                .execute(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, sql, &audit, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores a one-time enrolment code (hash).
    pub async fn add_enrolment_code(&self, code_hash: &str, office: &str, now: i64, expires_at: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO enrolment_codes (code_hash, office, created_at, expires_at) VALUES (?, ?, ?, ?)"))
                .bind(code_hash)
                .bind(office)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Consumes a code for an office (atomically); `false` when unknown, used or expired.
    pub async fn use_enrolment_code(&self, code_hash: &str, office: &str, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND office = ? AND used_at IS NULL AND expires_at > ?",
            ))
            .bind(now)
            .bind(code_hash)
            .bind(office)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Records an enrolled terminal.
    pub async fn add_terminal(&self, t: &Terminal, fingerprint: &str, not_after: i64, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO terminals (id, office, label, serial, fingerprint, not_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ))
            .bind(&t.id)
            .bind(&t.office)
            .bind(&t.label)
            .bind(&t.serial)
            .bind(fingerprint)
            .bind(not_after)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A terminal by certificate fingerprint.
    pub async fn terminal_by_fingerprint(&self, fp: &str) -> Result<Option<Terminal>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT id, office, label, serial, revoked_at FROM terminals WHERE fingerprint = ?"))
                .bind(fp)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| terminal_row!(&r)))
        })
    }

    /// Revokes a terminal and ends its sessions; `false` if unknown or already revoked.
    pub async fn revoke_terminal(&self, id: &str, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE terminals SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM sessions WHERE terminal_id = ?")).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Serials (hex) and revocation times of revoked terminals, for the CRL.
    pub async fn revoked_serials(&self) -> Result<Vec<(String, i64)>> {
        on_pool!(self, |pool, sql| {
            let rows =
                sqlx::query(sql("SELECT serial, revoked_at FROM terminals WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial"))
                    .fetch_all(pool)
                    .await?;
            Ok(rows.iter().map(|r| (r.get("serial"), r.get("revoked_at"))).collect())
        })
    }

    /// Terminals of an office.
    pub async fn terminals(&self, office: &str) -> Result<Vec<Terminal>> {
        on_pool!(self, |pool, sql| {
            let rows =
                sqlx::query(sql("SELECT id, office, label, serial, revoked_at FROM terminals WHERE office = ? ORDER BY created_at, id"))
                    .bind(office)
                    .fetch_all(pool)
                    .await?;
            Ok(rows.iter().map(|r| terminal_row!(r)).collect())
        })
    }

    /// The whole identity check in one query: the terminal with this certificate fingerprint
    /// (not revoked), a live session with this token on that terminal, and its user.
    pub async fn authenticate(&self, fingerprint: &str, token_hash: &str, now: i64) -> Result<Option<(User, Terminal)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT u.id, u.login, u.office, u.role, u.name, u.password_hash, u.must_change, u.failures, u.locked_until, u.web_failures, u.web_locked_until, u.disabled_at, u.password_changed_at, u.created_at, t.id AS t_id, t.office AS t_office, t.label AS t_label, t.serial AS t_serial FROM sessions s JOIN terminals t ON t.id = s.terminal_id JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND t.fingerprint = ? AND t.revoked_at IS NULL AND s.expires_at > ?"))
                .bind(token_hash)
                .bind(fingerprint)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| {
                let u = user_row!(&r);
                let t = Terminal {
                    id: r.get("t_id"),
                    office: r.get("t_office"),
                    label: r.get("t_label"),
                    serial: r.get("t_serial"),
                    revoked_at: None,
                };
                (u, t)
            }))
        })
    }

    /// One file of a message the office may see, with the message's retention state:
    /// `(file, sender, recipient, fetched_at, expired_at, purged_at)`.
    pub async fn file_for(
        &self,
        public_id: &str,
        idx: i64,
        office: &str,
    ) -> Result<Option<(FileRow, String, String, Option<i64>, Option<i64>, Option<i64>)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT f.idx, f.name, f.kind, f.service_month, f.size, f.sha256, m.sender, m.recipient, m.fetched_at, m.expired_at, m.purged_at FROM messages m JOIN files f ON f.message_id = m.id WHERE m.public_id = ? AND (m.sender = ? OR m.recipient = ?) AND f.idx = ?"))
                .bind(public_id)
                .bind(office)
                .bind(office)
                .bind(idx)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| {
                let f =
                    FileRow { idx: r.get(0), name: r.get(1), kind: r.get(2), service_month: r.get(3), size: r.get(4), sha256: r.get(5) };
                (f, r.get(6), r.get(7), r.get(8), r.get(9), r.get(10))
            }))
        })
    }

    /// Opens a session.
    pub async fn add_session(&self, token_hash: &str, user: i64, terminal: &str, now: i64, expires_at: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO sessions (token_hash, user_id, terminal_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"))
                .bind(token_hash)
                .bind(user)
                .bind(terminal)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A live session: `(user id, terminal id)`.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<(i64, String)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT user_id, terminal_id FROM sessions WHERE token_hash = ? AND expires_at > ?"))
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| (r.get(0), r.get(1))))
        })
    }

    /// Closes a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM sessions WHERE token_hash = ?")).bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }

    /// The message a sender stored under an idempotency key, with the digest of the request it
    /// was stored for (`None` for messages stored before digests were kept).
    pub async fn message_by_idempotency(&self, sender: &str, key: &str) -> Result<Option<(MessageRow, Option<String>)>> {
        let found: Option<(i64, Option<String>)> = on_pool!(self, |pool, sql| {
            sqlx::query(sql("SELECT id, idempotency_digest FROM messages WHERE sender = ? AND idempotency_key = ?"))
                .bind(sender)
                .bind(key)
                .fetch_optional(pool)
                .await?
                .map(|r| (r.get(0), r.get(1)))
        });
        match found {
            Some((id, digest)) => Ok(self.message_by_id(id).await?.map(|m| (m, digest))),
            None => Ok(None),
        }
    }

    /// Forgets idempotency keys of messages sent before `cutoff` (the same key may then be used
    /// again); returns how many.
    pub async fn forget_idempotency_keys(&self, cutoff: i64) -> Result<u64> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "UPDATE messages SET idempotency_key = NULL, idempotency_digest = NULL WHERE idempotency_key IS NOT NULL AND sent_at < ?",
            ))
            .bind(cutoff)
            .execute(pool)
            .await?;
            Ok(r.rows_affected())
        })
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

    /// Stores a message, its files and an audit row in one transaction.
    pub async fn insert_message(&self, m: &NewMessage, audit: Audit<'_>) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("INSERT INTO messages (public_id, sender, recipient, note, sent_by, sent_terminal, sent_at, idempotency_key, idempotency_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"))
                .bind(&m.public_id)
                .bind(&m.sender)
                .bind(&m.recipient)
                .bind(&m.note)
                .bind(m.sent_by)
                .bind(&m.sent_terminal)
                .bind(m.sent_at)
                .bind(&m.idempotency_key)
                .bind(&m.idempotency_digest)
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = r.get(0);
            for f in &m.files {
                sqlx::query(sql(
                    "INSERT INTO files (message_id, idx, name, kind, service_month, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(id)
                .bind(f.idx)
                .bind(&f.name)
                .bind(&f.kind)
                .bind(&f.service_month)
                .bind(f.size)
                .bind(&f.sha256)
                .execute(&mut *tx)
                .await?;
            }
            if let Some((draft, version)) = m.from_draft {
                let r =
                    sqlx::query(sql("DELETE FROM drafts WHERE id = ? AND version = ?")).bind(draft).bind(version).execute(&mut *tx).await?;
                if r.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict("draft changed or deleted".into()));
                }
            }
            insert_audit!(&mut *tx, sql, &audit, m.sent_at);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A message by internal id (as returned by [`Store::insert_message`]).
    pub async fn message_by_id(&self, id: i64) -> Result<Option<MessageRow>> {
        on_pool!(self, |pool, sql| {
            let Some(r) = sqlx::query(sql(
                "SELECT id, public_id, sender, recipient, note, sent_at, fetched_at, opened_at, expired_at, purged_at FROM messages WHERE id = ?",
            ))
            .bind(id)
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let rows = sqlx::query(sql("SELECT idx, name, kind, service_month, size, sha256 FROM files WHERE message_id = ? ORDER BY idx"))
                .bind(id)
                .fetch_all(pool)
                .await?;
            let files = rows
                .iter()
                .map(|r| FileRow {
                    idx: r.get("idx"),
                    name: r.get("name"),
                    kind: r.get("kind"),
                    service_month: r.get("service_month"),
                    size: r.get("size"),
                    sha256: r.get("sha256"),
                })
                .collect();
            Ok(Some(MessageRow {
                id: r.get("id"),
                public_id: r.get("public_id"),
                sender: r.get("sender"),
                recipient: r.get("recipient"),
                note: r.get("note"),
                sent_at: r.get("sent_at"),
                fetched_at: r.get("fetched_at"),
                opened_at: r.get("opened_at"),
                expired_at: r.get("expired_at"),
                purged_at: r.get("purged_at"),
                files,
            }))
        })
    }

    /// A message by public id, only if `office` is its sender or recipient.
    pub async fn message_for(&self, public_id: &str, office: &str) -> Result<Option<MessageRow>> {
        let id: Option<i64> = on_pool!(self, |pool, sql| {
            sqlx::query(sql("SELECT id FROM messages WHERE public_id = ? AND (sender = ? OR recipient = ?)"))
                .bind(public_id)
                .bind(office)
                .bind(office)
                .fetch_optional(pool)
                .await?
                .map(|r| r.get(0))
        });
        match id {
            Some(id) => self.message_by_id(id).await,
            None => Ok(None),
        }
    }

    fn list_sql(inbox: bool, f: &ListFilter) -> String {
        let (own, other) = if inbox { ("recipient", "sender") } else { ("sender", "recipient") };
        let mut text = format!("SELECT m.id FROM messages m WHERE m.{own} = ?");
        if let Some(fetched) = f.fetched {
            text.push_str(if fetched { " AND m.fetched_at IS NOT NULL" } else { " AND m.fetched_at IS NULL AND m.expired_at IS NULL" });
        }
        if f.counterpart.is_some() {
            text.push_str(&format!(" AND m.{other} = ?"));
        }
        if f.kind.is_some() {
            text.push_str(" AND EXISTS (SELECT 1 FROM files x WHERE x.message_id = m.id AND x.kind = ?)");
        }
        if f.month.is_some() {
            text.push_str(" AND EXISTS (SELECT 1 FROM files y WHERE y.message_id = m.id AND y.service_month = ?)");
        }
        for (present, clause) in [
            (f.since.is_some(), " AND m.sent_at >= ?"),
            (f.until.is_some(), " AND m.sent_at < ?"),
            (f.before_id.is_some(), " AND m.id < ?"),
        ] {
            if present {
                text.push_str(clause);
            }
        }
        text.push_str(" ORDER BY m.id DESC LIMIT ?");
        text
    }

    /// SQLite's query plan of a listing (`None` on PostgreSQL), for tests that guard against
    /// full scans.
    #[doc(hidden)]
    pub async fn explain_list(&self, inbox: bool, f: &ListFilter) -> Result<Option<Vec<String>>> {
        let Backend::Sqlite(pool, _) = &self.backend else { return Ok(None) };
        let text = format!("EXPLAIN QUERY PLAN {}", Self::list_sql(inbox, f));
        let mut q = sqlx::query(sql_sqlite(&text)).bind("x");
        for v in [&f.counterpart, &f.kind, &f.month].into_iter().flatten() {
            q = q.bind(v);
        }
        for v in [f.since, f.until, f.before_id].into_iter().flatten() {
            q = q.bind(v);
        }
        let rows = q.bind(f.limit).fetch_all(pool).await?;
        Ok(Some(rows.iter().map(|r| r.get::<String, _>(3)).collect()))
    }

    /// Lists an inbox (`inbox = true`, by recipient) or sent list (by sender), newest first,
    /// paging by id (index range scans only).
    pub async fn list(&self, office: &str, inbox: bool, f: &ListFilter) -> Result<Vec<MessageRow>> {
        let text = Self::list_sql(inbox, f);
        // `text` is built only from the fixed fragments above; every value is bound.
        let ids: Vec<i64> = on_pool!(self, |pool, sql| {
            let mut q = sqlx::query(sql(&text)).bind(office);
            for v in [&f.counterpart, &f.kind, &f.month].into_iter().flatten() {
                q = q.bind(v);
            }
            for v in [f.since, f.until, f.before_id].into_iter().flatten() {
                q = q.bind(v);
            }
            q.bind(f.limit).fetch_all(pool).await?.iter().map(|r| r.get(0)).collect()
        });
        self.messages_by_ids(&ids).await
    }

    /// Messages with their files for a list of ids, in that order: two queries in all.
    async fn messages_by_ids(&self, ids: &[i64]) -> Result<Vec<MessageRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let q_messages = format!(
            "SELECT id, public_id, sender, recipient, note, sent_at, fetched_at, opened_at, expired_at, purged_at FROM messages WHERE id IN ({marks})"
        );
        let q_files = format!(
            "SELECT message_id, idx, name, kind, service_month, size, sha256 FROM files WHERE message_id IN ({marks}) ORDER BY message_id, idx"
        );
        // Both texts are built from fixed fragments and `?` marks; every id is bound.
        let (mut rows, files): (std::collections::HashMap<i64, MessageRow>, Vec<(i64, FileRow)>) = on_pool!(self, |pool, sql| {
            let mut q = sqlx::query(sql(&q_messages));
            for id in ids {
                q = q.bind(*id);
            }
            let ms = q
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    let m = MessageRow {
                        id: r.get(0),
                        public_id: r.get(1),
                        sender: r.get(2),
                        recipient: r.get(3),
                        note: r.get(4),
                        sent_at: r.get(5),
                        fetched_at: r.get(6),
                        opened_at: r.get(7),
                        expired_at: r.get(8),
                        purged_at: r.get(9),
                        files: Vec::new(),
                    };
                    (m.id, m)
                })
                .collect();
            let mut q = sqlx::query(sql(&q_files));
            for id in ids {
                q = q.bind(*id);
            }
            let fs = q
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        FileRow {
                            idx: r.get(1),
                            name: r.get(2),
                            kind: r.get(3),
                            service_month: r.get(4),
                            size: r.get(5),
                            sha256: r.get(6),
                        },
                    )
                })
                .collect();
            (ms, fs)
        });
        for (mid, f) in files {
            if let Some(m) = rows.get_mut(&mid) {
                m.files.push(f);
            }
        }
        Ok(ids.iter().filter_map(|id| rows.remove(id)).collect())
    }

    /// Marks a message fetched (first time only); idempotent.
    pub async fn mark_fetched(&self, id: i64, user: i64, terminal: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql(
                "UPDATE messages SET fetched_at = ?, fetched_by = ?, fetched_terminal = ? WHERE id = ? AND fetched_at IS NULL",
            ))
            .bind(now)
            .bind(user)
            .bind(terminal)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() == 1 {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks a message opened (implies fetched); idempotent.
    pub async fn mark_opened(&self, id: i64, user: i64, terminal: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(
                "UPDATE messages SET fetched_at = ?, fetched_by = ?, fetched_terminal = ? WHERE id = ? AND fetched_at IS NULL",
            ))
            .bind(now)
            .bind(user)
            .bind(terminal)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let r = sqlx::query(sql("UPDATE messages SET opened_at = ?, opened_by = ? WHERE id = ? AND opened_at IS NULL"))
                .bind(now)
                .bind(user)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if r.rows_affected() == 1 {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Writes an audit row on its own.
    pub async fn audit(&self, a: Audit<'_>, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            insert_audit!(pool, sql, &a, now);
        });
        Ok(())
    }

    /// Audit rows, newest first: `(action, office, user, terminal)`.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<(String, Option<String>, Option<i64>, Option<String>)>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT action, office, user_id, terminal_id FROM audit ORDER BY id DESC LIMIT ?"))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
        })
    }

    /// Creates a draft with files; returns its id.
    pub async fn create_draft(&self, d: &NewDraft<'_>, now: i64) -> Result<i64> {
        let NewDraft { public_id, office, recipient, note, user, files } = *d;
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("INSERT INTO drafts (public_id, office, recipient, note, version, created_by, updated_by, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?) RETURNING id"))
                .bind(public_id)
                .bind(office)
                .bind(recipient)
                .bind(note)
                .bind(user)
                .bind(user)
                .bind(now)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = r.get(0);
            for f in files {
                sqlx::query(sql("INSERT INTO draft_files (draft_id, idx, name, size, sha256) VALUES (?, ?, ?, ?, ?)"))
                    .bind(id)
                    .bind(f.idx)
                    .bind(&f.name)
                    .bind(f.size)
                    .bind(&f.sha256)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    async fn draft_rows(&self, office: &str, public_id: Option<&str>) -> Result<Vec<DraftRow>> {
        let mut drafts: Vec<DraftRow> = on_pool!(self, |pool, sql| {
            let rows = match public_id {
                Some(p) => sqlx::query(sql("SELECT d.id, d.public_id, d.office, d.recipient, d.note, d.version, d.updated_at, u.name FROM drafts d JOIN users u ON u.id = d.updated_by WHERE d.office = ? AND d.public_id = ?")).bind(office).bind(p).fetch_all(pool).await?,
                None => sqlx::query(sql("SELECT d.id, d.public_id, d.office, d.recipient, d.note, d.version, d.updated_at, u.name FROM drafts d JOIN users u ON u.id = d.updated_by WHERE d.office = ? ORDER BY d.id DESC")).bind(office).fetch_all(pool).await?,
            };
            rows.iter()
                .map(|r| DraftRow {
                    id: r.get(0),
                    public_id: r.get(1),
                    office: r.get(2),
                    recipient: r.get(3),
                    note: r.get(4),
                    version: r.get(5),
                    updated_at: r.get(6),
                    updated_by: r.get(7),
                    files: Vec::new(),
                })
                .collect()
        });
        for d in &mut drafts {
            d.files = on_pool!(self, |pool, sql| {
                let rows = sqlx::query(sql("SELECT idx, name, size, sha256 FROM draft_files WHERE draft_id = ? ORDER BY idx"))
                    .bind(d.id)
                    .fetch_all(pool)
                    .await?;
                rows.iter()
                    .map(|r| FileRow { idx: r.get(0), name: r.get(1), kind: None, service_month: None, size: r.get(2), sha256: r.get(3) })
                    .collect()
            });
        }
        Ok(drafts)
    }

    /// A draft of an office.
    pub async fn draft(&self, office: &str, public_id: &str) -> Result<Option<DraftRow>> {
        Ok(self.draft_rows(office, Some(public_id)).await?.pop())
    }

    /// An office's drafts, newest first.
    pub async fn drafts(&self, office: &str) -> Result<Vec<DraftRow>> {
        self.draft_rows(office, None).await
    }

    /// Changes recipient and/or note if the version still matches; `false` on a stale version.
    pub async fn update_draft(
        &self,
        id: i64,
        version: i64,
        recipient: Option<&str>,
        note: Option<&str>,
        user: i64,
        now: i64,
    ) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql("UPDATE drafts SET recipient = COALESCE(?, recipient), note = COALESCE(?, note), version = version + 1, updated_by = ?, updated_at = ? WHERE id = ? AND version = ?"))
                .bind(recipient)
                .bind(note)
                .bind(user)
                .bind(now)
                .bind(id)
                .bind(version)
                .execute(pool)
                .await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Appends files to a draft (indexes after the last one) and bumps its version.
    pub async fn add_draft_files(&self, id: i64, files: &[FileRow], user: i64, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE drafts SET version = version + 1, updated_by = ?, updated_at = ? WHERE id = ?"))
                .bind(user)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let next: i64 = sqlx::query(sql("SELECT COALESCE(MAX(idx) + 1, 0) FROM draft_files WHERE draft_id = ?"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .get(0);
            for (i, f) in files.iter().enumerate() {
                sqlx::query(sql("INSERT INTO draft_files (draft_id, idx, name, size, sha256) VALUES (?, ?, ?, ?, ?)"))
                    .bind(id)
                    .bind(next + i as i64)
                    .bind(&f.name)
                    .bind(f.size)
                    .bind(&f.sha256)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes one file of a draft; `false` if there was none.
    pub async fn remove_draft_file(&self, id: i64, idx: i64, user: i64, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("DELETE FROM draft_files WHERE draft_id = ? AND idx = ?")).bind(id).bind(idx).execute(&mut *tx).await?;
            sqlx::query(sql("UPDATE drafts SET version = version + 1, updated_by = ?, updated_at = ? WHERE id = ?"))
                .bind(user)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Deletes a draft; `false` if it did not exist.
    pub async fn delete_draft(&self, id: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM draft_files WHERE draft_id = ?")).bind(id).execute(&mut *tx).await?;
            let r = sqlx::query(sql("DELETE FROM drafts WHERE id = ?")).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(r.rows_affected() == 1)
        })
    }

    /// Publishes a notice; returns it.
    pub async fn add_notice(
        &self,
        public_id: &str,
        office: Option<&str>,
        kind: &str,
        title: &str,
        body: &str,
        now: i64,
    ) -> Result<NoticeRow> {
        let id: i64 = on_writer!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO notices (public_id, office, kind, title, body, published_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            ))
            .bind(public_id)
            .bind(office)
            .bind(kind)
            .bind(title)
            .bind(body)
            .bind(now)
            .fetch_one(pool)
            .await?
            .get(0)
        });
        Ok(NoticeRow {
            id,
            public_id: public_id.into(),
            office: office.map(Into::into),
            kind: kind.into(),
            title: title.into(),
            body: body.into(),
            published_at: now,
        })
    }

    /// Notices for an office (its own and everyone's), newest first; with `after`, only newer
    /// than that id (for delivering new ones as events).
    pub async fn notices(&self, office: Option<&str>, after: Option<i64>, limit: i64) -> Result<Vec<NoticeRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT id, public_id, office, kind, title, body, published_at FROM notices WHERE (? IS NULL OR office IS NULL OR office = ?) AND id > ? ORDER BY id DESC LIMIT ?"))
                .bind(office)
                .bind(office)
                .bind(after.unwrap_or(0))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| NoticeRow {
                    id: r.get(0),
                    public_id: r.get(1),
                    office: r.get(2),
                    kind: r.get(3),
                    title: r.get(4),
                    body: r.get(5),
                    published_at: r.get(6),
                })
                .collect())
        })
    }

    /// Expires messages sent before `cutoff` and still unfetched; for each, in the same
    /// transaction, a non-delivery notice to the sender (made by `notice`) and an audit row.
    pub async fn expire_unfetched(
        &self,
        cutoff: i64,
        now: i64,
        notice: impl Fn(&str, i64) -> (String, String, String),
    ) -> Result<Vec<Expired>> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let rows = sqlx::query(sql("UPDATE messages SET expired_at = ? WHERE fetched_at IS NULL AND expired_at IS NULL AND sent_at < ? RETURNING public_id, sender, recipient, sent_at")).bind(now).bind(cutoff).fetch_all(&mut *tx).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let (public_id, sender, recipient, sent_at): (String, String, String, i64) = (r.get(0), r.get(1), r.get(2), r.get(3));
                let (nid, title, body) = notice(&recipient, sent_at);
                let id: i64 = sqlx::query(sql("INSERT INTO notices (public_id, office, kind, title, body, published_at) VALUES (?, ?, 'non_delivery', ?, ?, ?) RETURNING id")).bind(&nid).bind(&sender).bind(&title).bind(&body).bind(now).fetch_one(&mut *tx).await?.get(0);
                let a = Audit { action: "expire", office: Some(&sender), detail: public_id.clone(), ..Default::default() };
                insert_audit!(&mut *tx, sql, &a, now);
                out.push(Expired {
                    notice: NoticeRow {
                        id,
                        public_id: nid,
                        office: Some(sender.clone()),
                        kind: "non_delivery".into(),
                        title,
                        body,
                        published_at: now,
                    },
                    public_id,
                    sender,
                    recipient,
                    sent_at,
                });
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Marks the content of messages sent before `cutoff` as purged and returns the blob hashes
    /// no longer referenced by any unpurged message or draft (safe to delete).
    pub async fn purge_content(&self, cutoff: i64, now: i64) -> Result<Vec<String>> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let ids = sqlx::query(sql("UPDATE messages SET purged_at = ? WHERE purged_at IS NULL AND sent_at < ? RETURNING id"))
                .bind(now)
                .bind(cutoff)
                .fetch_all(&mut *tx)
                .await?;
            let mut candidates = std::collections::BTreeSet::new();
            for r in &ids {
                let id: i64 = r.get(0);
                for f in sqlx::query(sql("SELECT sha256 FROM files WHERE message_id = ?")).bind(id).fetch_all(&mut *tx).await? {
                    candidates.insert(f.get::<String, _>(0));
                }
            }
            let mut free = Vec::new();
            for sha in candidates {
                let used = sqlx::query(sql("SELECT 1 FROM files f JOIN messages m ON m.id = f.message_id WHERE f.sha256 = ? AND m.purged_at IS NULL UNION ALL SELECT 1 FROM draft_files d WHERE d.sha256 = ? LIMIT 1")).bind(&sha).bind(&sha).fetch_optional(&mut *tx).await?;
                if used.is_none() {
                    free.push(sha);
                }
            }
            if !ids.is_empty() {
                let a = Audit { action: "purge", detail: format!("messages={} blobs={}", ids.len(), free.len()), ..Default::default() };
                insert_audit!(&mut *tx, sql, &a, now);
            }
            tx.commit().await?;
            Ok(free)
        })
    }

    /// Number of stored messages.
    pub async fn message_count(&self) -> Result<i64> {
        on_pool!(self, |pool, sql| { Ok(sqlx::query(sql("SELECT COUNT(*) FROM messages")).fetch_one(pool).await?.get(0)) })
    }

    /// Imports registry rows (insert or update by 事業所番号) in one transaction.
    pub async fn import_registry(&self, rows: &[RegistryRow], now: i64) -> Result<()> {
        let stmt = |n: usize| {
            format!(
                "INSERT INTO registry (number, name, kind, prefecture, address, imported_at) VALUES {} ON CONFLICT (number) DO UPDATE SET name = excluded.name, kind = excluded.kind, prefecture = excluded.prefecture, address = excluded.address, imported_at = excluded.imported_at",
                vec!["(?, ?, ?, ?, ?, ?)"; n].join(", ")
            )
        };
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(500) {
                let text = stmt(chunk.len());
                let mut q = sqlx::query(sql(&text));
                for r in chunk {
                    q = q.bind(&r.number).bind(&r.name).bind(&r.kind).bind(r.prefecture).bind(&r.address).bind(now);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Per prefecture: offices in the registry, and participating offices (a valid license on
    /// `today`, YYYY-MM-DD), by the prefecture digits of the 事業所番号.
    pub async fn usage_by_prefecture(&self, today: &str) -> Result<Vec<(i32, i64, i64)>> {
        on_pool!(self, |pool, sql| {
            let total = sqlx::query(sql("SELECT prefecture, COUNT(*) FROM registry GROUP BY prefecture")).fetch_all(pool).await?;
            let using = sqlx::query(sql(
                "SELECT SUBSTR(number, 1, 2), COUNT(*) FROM offices WHERE license_until >= ? GROUP BY SUBSTR(number, 1, 2)",
            ))
            .bind(today)
            .fetch_all(pool)
            .await?;
            let mut out: std::collections::BTreeMap<i32, (i64, i64)> = (1..=47).map(|p| (p, (0, 0))).collect();
            for r in total {
                let p: i64 = r.get::<i64, _>(0);
                out.entry(p as i32).or_default().0 = r.get(1);
            }
            for r in using {
                let p: String = r.get(0);
                if let Ok(p) = p.parse::<i32>() {
                    out.entry(p).or_default().1 = r.get(1);
                }
            }
            Ok(out.into_iter().map(|(p, (t, u))| (p, t, u)).collect())
        })
    }

    /// Number of registry rows.
    pub async fn registry_count(&self) -> Result<i64> {
        on_pool!(self, |pool, sql| { Ok(sqlx::query(sql("SELECT COUNT(*) FROM registry")).fetch_one(pool).await?.get(0)) })
    }

    /// The public list of participating offices (a valid license on `today`): by prefecture,
    /// service kind, and a name fragment or the start of a number. At most `limit` rows, by
    /// number; with the total count.
    pub async fn search_participants(&self, q: &ParticipantQuery, today: &str, limit: i64) -> Result<(Vec<Participant>, i64)> {
        let pref = q.prefecture.map(|p| format!("{p:02}"));
        let kind = q.kind.as_ref().map(|k| format!("%,{k},%"));
        let text = q.text.as_ref().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        let name_like = text.as_ref().map(|t| format!("%{}%", t.replace(['%', '_'], "")));
        let number_prefix = text.as_ref().filter(|t| t.bytes().all(|b| b.is_ascii_alphanumeric())).map(|t| format!("{t}%"));
        let cond = "FROM offices o LEFT JOIN registry r ON r.number = o.number WHERE o.license_until >= ? AND (? IS NULL OR SUBSTR(o.number, 1, 2) = ?) AND (? IS NULL OR (',' || o.kinds || ',') LIKE ?) AND (? IS NULL OR o.name LIKE ? OR o.number LIKE ?)";
        on_pool!(self, |pool, sql| {
            let count_sql = format!("SELECT COUNT(*) {cond}");
            let total: i64 = sqlx::query(sql(&count_sql))
                .bind(today)
                .bind(&pref)
                .bind(&pref)
                .bind(&kind)
                .bind(&kind)
                .bind(&name_like)
                .bind(&name_like)
                .bind(number_prefix.as_deref().unwrap_or(""))
                .fetch_one(pool)
                .await?
                .get(0);
            let list_sql = format!("SELECT o.number, o.name, o.kinds, COALESCE(r.address, '') AS address {cond} ORDER BY o.number LIMIT ?");
            let rows = sqlx::query(sql(&list_sql))
                .bind(today)
                .bind(&pref)
                .bind(&pref)
                .bind(&kind)
                .bind(&kind)
                .bind(&name_like)
                .bind(&name_like)
                .bind(number_prefix.as_deref().unwrap_or(""))
                .bind(limit)
                .fetch_all(pool)
                .await?;
            let list = rows
                .iter()
                .map(|r| {
                    let kinds: String = r.get("kinds");
                    Participant {
                        number: r.get("number"),
                        name: r.get("name"),
                        kinds: kinds.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                        address: r.get("address"),
                    }
                })
                .collect();
            Ok((list, total))
        })
    }

    /// Opens a portal (browser) session.
    pub async fn add_portal_session(&self, token_hash: &str, user: i64, csrf: &str, now: i64, expires_at: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO portal_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"))
                .bind(token_hash)
                .bind(user)
                .bind(csrf)
                .bind(now)
                .bind(expires_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// A live portal session: (user id, CSRF token).
    pub async fn portal_session(&self, token_hash: &str, now: i64) -> Result<Option<(i64, String)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT user_id, csrf FROM portal_sessions WHERE token_hash = ? AND expires_at > ?"))
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| (r.get(0), r.get(1))))
        })
    }

    /// Ends a portal session (`None`: every session of the user, e.g. after a password change).
    pub async fn end_portal_sessions(&self, token_hash: Option<&str>, user: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ? AND (? IS NULL OR token_hash = ?)"))
                .bind(user)
                .bind(token_hash)
                .bind(token_hash)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The license side of an office.
    pub async fn license(&self, office: &str) -> Result<Option<LicenseInfo>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql(
                "SELECT license_until, terms_agreed_at, license_fee, license_paid_at, auto_renew FROM offices WHERE number = ?",
            ))
            .bind(office)
            .fetch_optional(pool)
            .await?;
            Ok(r.map(|r| LicenseInfo {
                until: r.get(0),
                terms_agreed_at: r.get(1),
                fee_yen: r.get(2),
                paid_at: r.get(3),
                auto_renew: r.get::<i64, _>(4) != 0,
            }))
        })
    }

    /// 利用申請 or renewal: the license runs through `until`, at `fee_yen` (paid at once when 0).
    pub async fn grant_license(&self, office: &str, until: &str, fee_yen: i64, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("UPDATE offices SET license_until = ?, terms_agreed_at = COALESCE(terms_agreed_at, ?), license_fee = ?, license_paid_at = CASE WHEN ? = 0 THEN ? ELSE NULL END WHERE number = ?"))
                .bind(until)
                .bind(now)
                .bind(fee_yen)
                .bind(fee_yen)
                .bind(now)
                .bind(office)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Switches automatic renewal.
    pub async fn set_auto_renew(&self, office: &str, on: bool) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql("UPDATE offices SET auto_renew = ? WHERE number = ?")).bind(i64::from(on)).bind(office).execute(pool).await?;
        });
        Ok(())
    }

    /// An office's terminals as the portal lists them, with the last login on each.
    pub async fn terminal_details(&self, office: &str) -> Result<Vec<TerminalDetail>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT t.id, t.label, t.fingerprint, t.not_after, t.created_at, t.revoked_at, (SELECT MAX(s.created_at) FROM sessions s WHERE s.terminal_id = t.id) AS last_seen FROM terminals t WHERE t.office = ? ORDER BY t.created_at, t.id"))
                .bind(office)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| TerminalDetail {
                    id: r.get(0),
                    label: r.get(1),
                    fingerprint: r.get(2),
                    not_after: r.get(3),
                    created_at: r.get(4),
                    revoked_at: r.get(5),
                    last_seen: r.get(6),
                })
                .collect())
        })
    }

    /// The evidence of what an office sent and received between `from` and `to` (unix seconds):
    /// one row per file, messages in time order.
    pub async fn evidence(&self, office: &str, from: i64, to: i64) -> Result<Vec<EvidenceRow>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT m.public_id, m.sender, m.recipient, m.sent_at, su.login, m.fetched_at, fu.login, m.opened_at, f.name, f.size, f.sha256 FROM messages m JOIN files f ON f.message_id = m.id LEFT JOIN users su ON su.id = m.sent_by LEFT JOIN users fu ON fu.id = m.fetched_by WHERE (m.sender = ? OR m.recipient = ?) AND m.sent_at >= ? AND m.sent_at < ? ORDER BY m.sent_at, m.id, f.idx"))
                .bind(office)
                .bind(office)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| EvidenceRow {
                    message: r.get(0),
                    sender: r.get(1),
                    recipient: r.get(2),
                    sent_at: r.get(3),
                    sent_by: r.get(4),
                    fetched_at: r.get(5),
                    fetched_by: r.get(6),
                    opened_at: r.get(7),
                    file: r.get(8),
                    size: r.get(9),
                    sha256: r.get(10),
                })
                .collect())
        })
    }

    /// An office's users, by login ID.
    pub async fn office_users(&self, office: &str) -> Result<Vec<User>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT * FROM users WHERE office = ? ORDER BY login")).bind(office).fetch_all(pool).await?;
            Ok(rows.iter().map(|r| user_row!(r)).collect())
        })
    }

    /// Disables a user: no more logins; every session (API and portal) ends at once.
    pub async fn disable_user(&self, id: i64, now: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE users SET disabled_at = ? WHERE id = ?")).bind(now).bind(id).execute(&mut *tx).await?;
            sqlx::query(sql("DELETE FROM sessions WHERE user_id = ?")).bind(id).execute(&mut *tx).await?;
            sqlx::query(sql("DELETE FROM portal_sessions WHERE user_id = ?")).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Adds an operator account; returns its id.
    pub async fn add_operator(&self, login: &str, name: &str, password_hash: &str, now: i64) -> Result<i64> {
        on_writer!(self, |pool, sql| {
            let r = sqlx::query(sql("INSERT INTO operators (login, name, password_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id"))
                .bind(login)
                .bind(name)
                .bind(password_hash)
                .bind(now)
                .fetch_one(pool)
                .await?;
            Ok(r.get(0))
        })
    }

    /// An operator by login ID or id: (id, login, name, password hash, locked until).
    pub async fn operator(&self, login: Option<&str>, id: Option<i64>) -> Result<Option<(i64, String, String, String, Option<i64>)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT id, login, name, password_hash, locked_until FROM operators WHERE login = ? OR id = ?"))
                .bind(login.unwrap_or(""))
                .bind(id.unwrap_or(-1))
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))))
        })
    }

    /// Opens an operator session.
    pub async fn add_operator_session(&self, token_hash: &str, operator: i64, csrf: &str, now: i64, expires_at: i64) -> Result<()> {
        on_writer!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO operator_sessions (token_hash, operator_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            ))
            .bind(token_hash)
            .bind(operator)
            .bind(csrf)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A live operator session: (operator id, CSRF token).
    pub async fn operator_session(&self, token_hash: &str, now: i64) -> Result<Option<(i64, String)>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT operator_id, csrf FROM operator_sessions WHERE token_hash = ? AND expires_at > ?"))
                .bind(token_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| (r.get(0), r.get(1))))
        })
    }

    /// Files sent per day (JST) since `since`: (day number since the epoch in JST, files).
    pub async fn files_per_day(&self, since: i64) -> Result<Vec<(i64, i64)>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT (m.sent_at + 32400) / 86400 AS d, COUNT(*) FROM messages m JOIN files f ON f.message_id = m.id WHERE m.sent_at >= ? GROUP BY (m.sent_at + 32400) / 86400 ORDER BY d"))
                .bind(since)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Files sent per prefecture of the sender since `since`.
    pub async fn files_per_prefecture(&self, since: i64) -> Result<Vec<(String, i64)>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT SUBSTR(m.sender, 1, 2) AS p, COUNT(*) FROM messages m JOIN files f ON f.message_id = m.id WHERE m.sent_at >= ? GROUP BY SUBSTR(m.sender, 1, 2) ORDER BY p"))
                .bind(since)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// The audit log, newest first, filtered by an action prefix and an office.
    pub async fn audit_search(&self, action: Option<&str>, office: Option<&str>, limit: i64) -> Result<Vec<AuditRow>> {
        let like = action.map(|a| format!("{}%", a.replace(['%', '_'], "")));
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT at, action, office, user_id, terminal_id, ip, detail FROM audit WHERE (? IS NULL OR action LIKE ?) AND (? IS NULL OR office = ?) ORDER BY id DESC LIMIT ?"))
                .bind(&like)
                .bind(&like)
                .bind(office)
                .bind(office)
                .bind(limit)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|r| AuditRow {
                    at: r.get(0),
                    action: r.get(1),
                    office: r.get(2),
                    user_id: r.get(3),
                    terminal_id: r.get(4),
                    ip: r.get(5),
                    detail: r.get(6),
                })
                .collect())
        })
    }

    /// Offices renewing automatically whose license ends on or before `by` but not before
    /// `today`: (number, valid through).
    pub async fn due_for_renewal(&self, today: &str, by: &str) -> Result<Vec<(String, String)>> {
        on_pool!(self, |pool, sql| {
            let rows = sqlx::query(sql("SELECT number, license_until FROM offices WHERE auto_renew = 1 AND license_until >= ? AND license_until <= ? ORDER BY number"))
                .bind(today)
                .bind(by)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    /// Records the payment of the current license period.
    pub async fn mark_paid(&self, office: &str, now: i64) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let r =
                sqlx::query(sql("UPDATE offices SET license_paid_at = ? WHERE number = ? AND license_fee > 0 AND license_paid_at IS NULL"))
                    .bind(now)
                    .bind(office)
                    .execute(pool)
                    .await?;
            Ok(r.rows_affected() == 1)
        })
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// When.
    pub at: i64,
    /// What.
    pub action: String,
    /// For which office.
    pub office: Option<String>,
    /// Which user.
    pub user_id: Option<i64>,
    /// Which terminal.
    pub terminal_id: Option<String>,
    /// From where.
    pub ip: Option<String>,
    /// Details.
    pub detail: String,
}

/// One file of the evidence report (送受信記録).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    /// Message id.
    pub message: String,
    /// 送信元.
    pub sender: String,
    /// 送信先.
    pub recipient: String,
    /// Sent at.
    pub sent_at: i64,
    /// Who sent (login ID).
    pub sent_by: Option<String>,
    /// Fetched at.
    pub fetched_at: Option<i64>,
    /// Who fetched.
    pub fetched_by: Option<String>,
    /// Opened at.
    pub opened_at: Option<i64>,
    /// File name.
    pub file: String,
    /// Size.
    pub size: i64,
    /// SHA-256.
    pub sha256: String,
}

/// A terminal with what the portal shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalDetail {
    /// Terminal id.
    pub id: String,
    /// The PC's name.
    pub label: String,
    /// SHA-256 of the certificate (hex).
    pub fingerprint: String,
    /// Certificate expiry (unix seconds).
    pub not_after: i64,
    /// Enrolled at.
    pub created_at: i64,
    /// Revoked at.
    pub revoked_at: Option<i64>,
    /// Last login on it.
    pub last_seen: Option<i64>,
}

/// The license of an office as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseInfo {
    /// Valid through (YYYY-MM-DD).
    pub until: Option<String>,
    /// When the terms were agreed (unix seconds).
    pub terms_agreed_at: Option<i64>,
    /// Fee of the current period (yen).
    pub fee_yen: Option<i64>,
    /// When it was paid.
    pub paid_at: Option<i64>,
    /// Renew automatically.
    pub auto_renew: bool,
}

/// One row of the office registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRow {
    /// 事業所番号.
    pub number: String,
    /// 事業所名.
    pub name: String,
    /// サービス種類コード.
    pub kind: String,
    /// 都道府県コード (1–47).
    pub prefecture: i32,
    /// 所在地.
    pub address: String,
}

/// Filters of the public office list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantQuery {
    /// 都道府県コード.
    pub prefecture: Option<i32>,
    /// サービス種類コード.
    pub kind: Option<String>,
    /// Part of the name, or the start of the number.
    pub text: Option<String>,
}

/// A participating office as the public list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// 事業所番号.
    pub number: String,
    /// 事業所名.
    pub name: String,
    /// サービス種類コード.
    pub kinds: Vec<String>,
    /// 所在地 (from the registry; empty if not there).
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

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
