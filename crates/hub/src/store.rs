//! Storage: the only module that speaks SQL. SQLite (WAL, `synchronous = FULL`, so an
//! acknowledged send survives a crash) is the embedded default.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Errors of the store, never sqlx types.
#[derive(Debug)]
pub enum StoreError {
    /// A uniqueness constraint was hit (e.g. a repeated idempotency key).
    Conflict(String),
    /// Anything else, with context.
    Backend(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(s) => write!(f, "conflict: {s}"),
            StoreError::Backend(s) => write!(f, "storage: {s}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(d.message().to_owned()),
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
    /// Files.
    pub files: Vec<FileRow>,
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
    /// Files.
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

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

fn office_row(r: &sqlx::sqlite::SqliteRow) -> Office {
    let kinds: String = r.get("kinds");
    Office {
        number: r.get("number"),
        name: r.get("name"),
        kinds: kinds.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        license_until: r.get("license_until"),
    }
}

fn user_row(r: &sqlx::sqlite::SqliteRow) -> User {
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
    }
}

impl Store {
    /// Opens (creating) a SQLite database from a `sqlite:` URL and migrates it. Any other
    /// scheme is an error, never a new empty database.
    pub async fn open(url: &str) -> Result<Store> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Backend(format!("unsupported database URL scheme in {url:?} (this build stores in sqlite:)")));
        }
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Store { pool })
    }

    /// Adds or updates an office.
    pub async fn upsert_office(&self, o: &Office, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO offices (number, name, kinds, license_until, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(number) DO UPDATE SET name = excluded.name, kinds = excluded.kinds, license_until = excluded.license_until")
            .bind(&o.number)
            .bind(&o.name)
            .bind(o.kinds.join(","))
            .bind(&o.license_until)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Looks an office up.
    pub async fn office(&self, number: &str) -> Result<Option<Office>> {
        let r = sqlx::query("SELECT number, name, kinds, license_until FROM offices WHERE number = ?")
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.as_ref().map(office_row))
    }

    /// All offices.
    pub async fn offices(&self) -> Result<Vec<Office>> {
        let rows = sqlx::query("SELECT number, name, kinds, license_until FROM offices ORDER BY number").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(office_row).collect())
    }

    /// Adds a user; returns its id.
    pub async fn add_user(&self, u: &NewUser<'_>, now: i64) -> Result<i64> {
        let r = sqlx::query("INSERT INTO users (login, office, role, name, password_hash, must_change, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id")
            .bind(u.login)
            .bind(u.office)
            .bind(u.role)
            .bind(u.name)
            .bind(u.password_hash)
            .bind(i64::from(u.must_change))
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get(0))
    }

    /// A user by login ID.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        let r = sqlx::query("SELECT * FROM users WHERE login = ?").bind(login).fetch_optional(&self.pool).await?;
        Ok(r.as_ref().map(user_row))
    }

    /// A user by id.
    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let r = sqlx::query("SELECT * FROM users WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        Ok(r.as_ref().map(user_row))
    }

    /// Records a failed login; locks when `max` consecutive failures are reached.
    pub async fn login_failed(&self, id: i64, max: i64, lock_until: i64) -> Result<i64> {
        let r = sqlx::query("UPDATE users SET failures = failures + 1, locked_until = CASE WHEN failures + 1 >= ? THEN ? ELSE locked_until END WHERE id = ? RETURNING failures")
            .bind(max)
            .bind(lock_until)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(r.get(0))
    }

    /// Clears failures after a good login (and an expired lock).
    pub async fn login_succeeded(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE users SET failures = 0, locked_until = NULL WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// Sets a password.
    pub async fn set_password(&self, id: i64, hash: &str, must_change: bool) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = ?, must_change = ?, failures = 0, locked_until = NULL WHERE id = ?")
            .bind(hash)
            .bind(i64::from(must_change))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a one-time enrolment code (hash).
    pub async fn add_enrolment_code(&self, code_hash: &str, office: &str, now: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO enrolment_codes (code_hash, office, created_at, expires_at) VALUES (?, ?, ?, ?)")
            .bind(code_hash)
            .bind(office)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Consumes a code for an office (atomically); `false` when unknown, used or expired.
    pub async fn use_enrolment_code(&self, code_hash: &str, office: &str, now: i64) -> Result<bool> {
        let r =
            sqlx::query("UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND office = ? AND used_at IS NULL AND expires_at > ?")
                .bind(now)
                .bind(code_hash)
                .bind(office)
                .bind(now)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records an enrolled terminal.
    pub async fn add_terminal(&self, t: &Terminal, fingerprint: &str, not_after: i64, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO terminals (id, office, label, serial, fingerprint, not_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(&t.id)
            .bind(&t.office)
            .bind(&t.label)
            .bind(&t.serial)
            .bind(fingerprint)
            .bind(not_after)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A terminal by certificate fingerprint.
    pub async fn terminal_by_fingerprint(&self, fp: &str) -> Result<Option<Terminal>> {
        let r = sqlx::query("SELECT id, office, label, serial, revoked_at FROM terminals WHERE fingerprint = ?")
            .bind(fp)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| Terminal {
            id: r.get("id"),
            office: r.get("office"),
            label: r.get("label"),
            serial: r.get("serial"),
            revoked_at: r.get("revoked_at"),
        }))
    }

    /// Revokes a terminal; returns `false` if unknown.
    pub async fn revoke_terminal(&self, id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE terminals SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE terminal_id = ?").bind(id).execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }

    /// Serials (hex) and revocation times of revoked terminals, for the CRL.
    pub async fn revoked_serials(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT serial, revoked_at FROM terminals WHERE revoked_at IS NOT NULL ORDER BY revoked_at")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get("serial"), r.get("revoked_at"))).collect())
    }

    /// Terminals of an office.
    pub async fn terminals(&self, office: &str) -> Result<Vec<Terminal>> {
        let rows = sqlx::query("SELECT id, office, label, serial, revoked_at FROM terminals WHERE office = ? ORDER BY created_at")
            .bind(office)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| Terminal {
                id: r.get("id"),
                office: r.get("office"),
                label: r.get("label"),
                serial: r.get("serial"),
                revoked_at: r.get("revoked_at"),
            })
            .collect())
    }

    /// Opens a session.
    pub async fn add_session(&self, token_hash: &str, user: i64, terminal: &str, now: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, terminal_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(token_hash)
            .bind(user)
            .bind(terminal)
            .bind(now)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A live session: `(user id, terminal id)`.
    pub async fn session(&self, token_hash: &str, now: i64) -> Result<Option<(i64, String)>> {
        let r = sqlx::query("SELECT user_id, terminal_id FROM sessions WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| (r.get(0), r.get(1))))
    }

    /// Closes a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// The message a sender stored under an idempotency key.
    pub async fn message_by_idempotency(&self, sender: &str, key: &str) -> Result<Option<MessageRow>> {
        let r = sqlx::query("SELECT id FROM messages WHERE sender = ? AND idempotency_key = ?")
            .bind(sender)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => self.message_by_id(r.get(0)).await,
            None => Ok(None),
        }
    }

    /// Stores a message, its files and an audit row in one transaction.
    pub async fn insert_message(&self, m: &NewMessage, audit: Audit<'_>) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("INSERT INTO messages (public_id, sender, recipient, note, sent_by, sent_terminal, sent_at, idempotency_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")
            .bind(&m.public_id)
            .bind(&m.sender)
            .bind(&m.recipient)
            .bind(&m.note)
            .bind(m.sent_by)
            .bind(&m.sent_terminal)
            .bind(m.sent_at)
            .bind(&m.idempotency_key)
            .fetch_one(&mut *tx)
            .await?;
        let id: i64 = r.get(0);
        for f in &m.files {
            sqlx::query("INSERT INTO files (message_id, idx, name, kind, service_month, size, sha256) VALUES (?, ?, ?, ?, ?, ?, ?)")
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
        insert_audit(&mut tx, &audit, m.sent_at).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn files(&self, id: i64) -> Result<Vec<FileRow>> {
        let rows = sqlx::query("SELECT idx, name, kind, service_month, size, sha256 FROM files WHERE message_id = ? ORDER BY idx")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| FileRow {
                idx: r.get("idx"),
                name: r.get("name"),
                kind: r.get("kind"),
                service_month: r.get("service_month"),
                size: r.get("size"),
                sha256: r.get("sha256"),
            })
            .collect())
    }

    async fn message_by_id(&self, id: i64) -> Result<Option<MessageRow>> {
        let r = sqlx::query("SELECT id, public_id, sender, recipient, note, sent_at, fetched_at, opened_at FROM messages WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else { return Ok(None) };
        let mut m = MessageRow {
            id: r.get("id"),
            public_id: r.get("public_id"),
            sender: r.get("sender"),
            recipient: r.get("recipient"),
            note: r.get("note"),
            sent_at: r.get("sent_at"),
            fetched_at: r.get("fetched_at"),
            opened_at: r.get("opened_at"),
            files: Vec::new(),
        };
        m.files = self.files(m.id).await?;
        Ok(Some(m))
    }

    /// A message by public id, only if `office` is its sender or recipient.
    pub async fn message_for(&self, public_id: &str, office: &str) -> Result<Option<MessageRow>> {
        let r = sqlx::query("SELECT id FROM messages WHERE public_id = ? AND (sender = ? OR recipient = ?)")
            .bind(public_id)
            .bind(office)
            .bind(office)
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => self.message_by_id(r.get(0)).await,
            None => Ok(None),
        }
    }

    /// Lists an inbox (`inbox = true`, by recipient) or sent list (by sender), newest first,
    /// paging by id (index range scans only).
    pub async fn list(&self, office: &str, inbox: bool, f: &ListFilter) -> Result<Vec<MessageRow>> {
        let (own, other) = if inbox { ("recipient", "sender") } else { ("sender", "recipient") };
        let mut sql = format!("SELECT m.id FROM messages m WHERE m.{own} = ?");
        if let Some(fetched) = f.fetched {
            sql.push_str(if fetched { " AND m.fetched_at IS NOT NULL" } else { " AND m.fetched_at IS NULL" });
        }
        if f.counterpart.is_some() {
            sql.push_str(&format!(" AND m.{other} = ?"));
        }
        if f.kind.is_some() {
            sql.push_str(" AND EXISTS (SELECT 1 FROM files x WHERE x.message_id = m.id AND x.kind = ?)");
        }
        if f.month.is_some() {
            sql.push_str(" AND EXISTS (SELECT 1 FROM files y WHERE y.message_id = m.id AND y.service_month = ?)");
        }
        if f.since.is_some() {
            sql.push_str(" AND m.sent_at >= ?");
        }
        if f.until.is_some() {
            sql.push_str(" AND m.sent_at < ?");
        }
        if f.before_id.is_some() {
            sql.push_str(" AND m.id < ?");
        }
        sql.push_str(" ORDER BY m.id DESC LIMIT ?");
        // Built only from the fixed fragments above; every value is bound.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(office);
        if let Some(v) = &f.counterpart {
            q = q.bind(v);
        }
        if let Some(v) = &f.kind {
            q = q.bind(v);
        }
        if let Some(v) = &f.month {
            q = q.bind(v);
        }
        if let Some(v) = f.since {
            q = q.bind(v);
        }
        if let Some(v) = f.until {
            q = q.bind(v);
        }
        if let Some(v) = f.before_id {
            q = q.bind(v);
        }
        let ids = q.bind(f.limit).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(ids.len());
        for r in ids {
            if let Some(m) = self.message_by_id(r.get(0)).await? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Marks a message fetched (first time only); idempotent.
    pub async fn mark_fetched(&self, id: i64, user: i64, terminal: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("UPDATE messages SET fetched_at = ?, fetched_by = ?, fetched_terminal = ? WHERE id = ? AND fetched_at IS NULL")
            .bind(now)
            .bind(user)
            .bind(terminal)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 1 {
            insert_audit(&mut tx, &audit, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks a message opened (implies fetched); idempotent.
    pub async fn mark_opened(&self, id: i64, user: i64, terminal: &str, now: i64, audit: Audit<'_>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE messages SET fetched_at = ?, fetched_by = ?, fetched_terminal = ? WHERE id = ? AND fetched_at IS NULL")
            .bind(now)
            .bind(user)
            .bind(terminal)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query("UPDATE messages SET opened_at = ?, opened_by = ? WHERE id = ? AND opened_at IS NULL")
            .bind(now)
            .bind(user)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 1 {
            insert_audit(&mut tx, &audit, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes an audit row on its own.
    pub async fn audit(&self, a: Audit<'_>, now: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_audit(&mut tx, &a, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Audit rows, newest first (for operators and tests).
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<(String, Option<String>, Option<i64>, Option<String>)>> {
        let rows = sqlx::query("SELECT action, office, user_id, terminal_id FROM audit ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }

    /// Number of stored messages.
    pub async fn message_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM messages").fetch_one(&self.pool).await?.get(0))
    }
}

async fn insert_audit(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, a: &Audit<'_>, now: i64) -> Result<()> {
    sqlx::query("INSERT INTO audit (at, action, office, user_id, terminal_id, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(now)
        .bind(a.action)
        .bind(a.office)
        .bind(a.user_id)
        .bind(a.terminal_id)
        .bind(a.ip)
        .bind(&a.detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
