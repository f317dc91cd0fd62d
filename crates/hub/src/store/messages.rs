//! Messages and their files: sending, lists, receipts, expiry and purging, the evidence report.

use super::{Audit, AuditAction, NoticeRow};
use super::{Backend, INSERT_AUDIT, Result, Store, StoreError, sql_postgres, sql_sqlite};
use sqlx::Row;

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
    /// CSVバージョン (record field 1) of a standard CSV file.
    pub csv_version: Option<String>,
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
    /// The contact (JSON of `renkei_protocol::Contact`), if the message is one.
    pub contact: Option<String>,
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
    /// The 代行業者 that sent it in the sender's name: (number, name when it sent).
    pub agent: Option<(String, String)>,
    /// Files.
    pub files: Vec<FileRow>,
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

/// A new message to store (large blobs already written to the blob store; small ones in `inline`).
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
    /// The contact (JSON of `renkei_protocol::Contact`), if the message is one.
    pub contact: Option<String>,
    /// User.
    pub sent_by: i64,
    /// Terminal.
    pub sent_terminal: String,
    /// Time.
    pub sent_at: i64,
    /// The 代行業者 sending in the sender's name: (number, name).
    pub agent: Option<(String, String)>,
    /// Idempotency key.
    pub idempotency_key: Option<String>,
    /// Digest of the request the key was sent with (a later request with the same key must
    /// have the same digest to be answered with this message).
    pub idempotency_digest: Option<String>,
    /// Files.
    pub files: Vec<FileRow>,
    /// Contents stored with the message, in the same transaction: `(sha256, bytes)` of the
    /// files small enough to live in the database (see `blobs::INLINE_MAX_BYTES`).
    pub inline: Vec<(String, bytes::Bytes)>,
    /// The draft `(id, version)` this message consumes: deleted in the same transaction, and the
    /// insert fails with [`StoreError::Conflict`] if it changed meanwhile.
    pub from_draft: Option<(i64, i64)>,
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

/// One file of a message, with what decides who may still download it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// The file.
    pub file: FileRow,
    /// Sending office.
    pub sender: String,
    /// Receiving office.
    pub recipient: String,
    /// When the recipient fetched the message.
    pub fetched_at: Option<i64>,
    /// When it expired unfetched.
    pub expired_at: Option<i64>,
    /// When its content was purged.
    pub purged_at: Option<i64>,
    /// The content, where it is stored in the database (small files); `None` where it is in
    /// the blob store.
    pub content: Option<Vec<u8>>,
}

/// A message found by its sender's idempotency key, with the digest of the request that stored
/// it (`None` for messages stored before digests were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedMessage {
    /// The message.
    pub message: MessageRow,
    /// The request digest the key is bound to.
    pub digest: Option<String>,
}

/// The agent columns of a message row.
fn agent_of(number: Option<String>, name: Option<String>) -> Option<(String, String)> {
    number.map(|n| (n, name.unwrap_or_default()))
}

/// The columns of a [`MessageRow`] (files aside), as [`message_row!`] reads them.
const LIST_COLUMNS: &str = "m.id, m.public_id, m.sender, m.recipient, m.note, m.sent_at, m.fetched_at, m.opened_at, m.expired_at, m.purged_at, m.contact, m.agent, m.agent_name";

/// A [`MessageRow`] without its files from a row of [`LIST_COLUMNS`].
macro_rules! message_row {
    ($r:expr) => {{
        let r = $r;
        MessageRow {
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
            contact: r.get(10),
            agent: agent_of(r.get(11), r.get(12)),
            files: Vec::new(),
        }
    }};
}

/// How a message is looked up.
#[derive(Debug, Clone, Copy)]
enum MessageKey<'a> {
    /// By internal id.
    Id(i64),
    /// By public id, for an office that sent or received it.
    Public { public_id: &'a str, office: &'a str },
}

/// A send waiting for SQLite's writer (see [`Store::insert_message`]).
#[derive(Debug)]
pub(super) struct PendingSend {
    message: NewMessage,
    audit: OwnedAudit,
    answer: tokio::sync::oneshot::Sender<Result<i64>>,
}

/// An [`Audit`] that owns its text, so that another caller's task can write it.
#[derive(Debug)]
struct OwnedAudit {
    action: AuditAction,
    office: Option<String>,
    user_id: Option<i64>,
    terminal_id: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl From<&Audit<'_>> for OwnedAudit {
    fn from(a: &Audit<'_>) -> Self {
        OwnedAudit {
            action: a.action,
            office: a.office.map(str::to_owned),
            user_id: a.user_id,
            terminal_id: a.terminal_id.map(str::to_owned),
            ip: a.ip.map(str::to_owned),
            detail: a.detail.clone(),
        }
    }
}

impl OwnedAudit {
    fn as_audit(&self) -> Audit<'_> {
        Audit {
            action: self.action,
            office: self.office.as_deref(),
            user_id: self.user_id,
            terminal_id: self.terminal_id.as_deref(),
            ip: self.ip.as_deref(),
            detail: self.detail.clone(),
        }
    }
}

/// The same fault for every send of a failed group.
fn clone_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        StoreError::Full(s) => StoreError::Full(s.clone()),
        StoreError::Unavailable(s) => StoreError::Unavailable(s.clone()),
        StoreError::Backend(s) => StoreError::Backend(s.clone()),
    }
}

/// The statement that stores a message and returns its id; [`bind_message!`] binds its values.
const INSERT_MESSAGE: &str = "INSERT INTO messages (public_id, sender, recipient, note, contact, sent_by, sent_terminal, sent_at, idempotency_key, idempotency_digest, agent, agent_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

/// The statement that stores a small file's content (once per SHA-256).
const INSERT_INLINE: &str = "INSERT INTO blob_inline (sha256, content) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING";

/// Binds a [`NewMessage`]'s columns to a query that starts with [`INSERT_MESSAGE`].
macro_rules! bind_message {
    ($q:expr, $m:expr) => {{
        let m = $m;
        $q.bind(&m.public_id)
            .bind(&m.sender)
            .bind(&m.recipient)
            .bind(&m.note)
            .bind(&m.contact)
            .bind(m.sent_by)
            .bind(&m.sent_terminal)
            .bind(m.sent_at)
            .bind(&m.idempotency_key)
            .bind(&m.idempotency_digest)
            .bind(m.agent.as_ref().map(|a| &a.0))
            .bind(m.agent.as_ref().map(|a| &a.1))
    }};
}

/// Binds a [`FileRow`]'s columns after its message reference (`idx` … `csv_version`).
macro_rules! bind_file {
    ($q:expr, $f:expr) => {{
        let f = $f;
        $q.bind(f.idx).bind(&f.name).bind(&f.kind).bind(&f.service_month).bind(f.size).bind(&f.sha256).bind(&f.csv_version)
    }};
}

/// The statements of one send, inside a transaction or savepoint the caller ends.
macro_rules! insert_one {
    ($tx:expr, $sql:ident, $m:expr, $audit:expr) => {
        async {
            let (tx, sql, m, audit) = ($tx, $sql, $m, $audit);
            let r = bind_message!(sqlx::query(sql(INSERT_MESSAGE)), m).fetch_one(&mut **tx).await?;
            let id: i64 = r.get(0);
            for f in &m.files {
                let q = sqlx::query(sql(
                    "INSERT INTO files (message_id, idx, name, kind, service_month, size, sha256, csv_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ))
                .bind(id);
                bind_file!(q, f).execute(&mut **tx).await?;
            }
            for (sha, content) in &m.inline {
                sqlx::query(sql(INSERT_INLINE)).bind(sha).bind(content.as_ref()).execute(&mut **tx).await?;
            }
            if let Some((draft, version)) = m.from_draft {
                let r = sqlx::query(sql("DELETE FROM drafts WHERE id = ? AND version = ?")).bind(draft).bind(version).execute(&mut **tx).await?;
                if r.rows_affected() != 1 {
                    return Err(StoreError::Conflict("draft changed or deleted".into()));
                }
            }
            insert_audit!(&mut **tx, sql, audit, m.sent_at);
            Ok::<i64, StoreError>(id)
        }
        .await
    };
}

/// Commits a group of sends on SQLite's writer: a savepoint each, one commit for all; then
/// answers each (its id, its own refusal, or the commit's fault).
/// A send's statements as one SQLite script (one crossing to the driver's thread instead of
/// five): the message (returning its id), its files, its small contents and its audit row,
/// optionally inside a savepoint. Not for a send from a draft (its draft check reads a count).
fn send_script(m: &NewMessage, savepoint: bool) -> String {
    let mut s = String::with_capacity(600 + 200 * (m.files.len() + m.inline.len()));
    if savepoint {
        s.push_str("SAVEPOINT send; ");
    }
    s.push_str(INSERT_MESSAGE);
    s.push_str("; ");
    for _ in &m.files {
        s.push_str("INSERT INTO files (message_id, idx, name, kind, service_month, size, sha256, csv_version) VALUES ((SELECT id FROM messages WHERE public_id = ?), ?, ?, ?, ?, ?, ?, ?); ");
    }
    for _ in &m.inline {
        s.push_str(INSERT_INLINE);
        s.push_str("; ");
    }
    s.push_str(INSERT_AUDIT);
    if savepoint {
        s.push_str("; RELEASE send");
    }
    s
}

/// Runs [`send_script`] for one send; its id.
async fn run_send_script(conn: &mut sqlx::SqliteConnection, p: &PendingSend, savepoint: bool) -> Result<i64> {
    let (m, a) = (&p.message, p.audit.as_audit());
    let text = send_script(m, savepoint);
    // The text is built from fixed fragments only; every value is bound.
    let mut q = bind_message!(sqlx::query(sql_sqlite(&text)), m);
    for f in &m.files {
        q = bind_file!(q.bind(&m.public_id), f);
    }
    for (sha, content) in &m.inline {
        q = q.bind(sha).bind(content.as_ref());
    }
    let rows = bind_audit!(q, &a, m.sent_at).fetch_all(&mut *conn).await?;
    rows.first().map(|r| r.get::<i64, _>(0)).ok_or_else(|| StoreError::Backend("the message insert returned no id".into()))
}

/// Commits a group of sends on SQLite's writer: one transaction, a savepoint each (a refused
/// send, say a repeated idempotency key, leaves the others alone), one commit for all; then
/// answers each with its id, its own refusal, or the commit's fault.
async fn commit_sends(conn: &mut sqlx::SqliteConnection, batch: Vec<PendingSend>) {
    use sqlx::Connection as _;
    let sql = sql_sqlite;
    metrics::histogram!("renkei_store_send_group_size").record(batch.len() as f64);
    let fail_all = |batch: Vec<tokio::sync::oneshot::Sender<Result<i64>>>, e: StoreError| {
        for answer in batch {
            let _ = answer.send(Err(clone_error(&e)));
        }
    };
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(batch.into_iter().map(|p| p.answer).collect(), e.into()),
    };
    let alone = batch.len() == 1;
    let mut results: Vec<(tokio::sync::oneshot::Sender<Result<i64>>, Result<i64>)> = Vec::with_capacity(batch.len());
    for p in batch {
        let r: Result<i64> = if p.message.from_draft.is_some() {
            // The draft check reads a count: statement by statement, in a savepoint.
            async {
                let mut sp = tx.begin().await?;
                match insert_one!(&mut sp, sql, &p.message, &p.audit.as_audit()) {
                    Ok(id) => sp.commit().await.map(|()| id).map_err(StoreError::from),
                    Err(e) => {
                        sp.rollback().await?;
                        Err(e)
                    }
                }
            }
            .await
        } else if alone {
            // A send alone needs no savepoint: a failure rolls the whole transaction back.
            run_send_script(&mut tx, &p, false).await
        } else {
            match run_send_script(&mut tx, &p, true).await {
                Ok(id) => Ok(id),
                Err(e) => match sqlx::raw_sql("ROLLBACK TO send; RELEASE send").execute(&mut *tx).await {
                    Ok(_) => Err(e),
                    Err(undo) => {
                        // The others cannot be kept apart from it: give the whole group up.
                        drop(tx);
                        let mut all: Vec<_> = results.into_iter().map(|(a, _)| a).collect();
                        all.push(p.answer);
                        return fail_all(all, undo.into());
                    }
                },
            }
        };
        results.push((p.answer, r));
    }
    if alone && results.iter().any(|(_, r)| r.is_err()) {
        let _ = tx.rollback().await;
        for (answer, r) in results {
            let _ = answer.send(r);
        }
        return;
    }
    match tx.commit().await {
        Ok(()) => {
            for (answer, r) in results {
                let _ = answer.send(r);
            }
        }
        Err(e) => fail_all(results.into_iter().map(|(a, _)| a).collect(), e.into()),
    }
}

impl Store {
    /// One file of a message the office may see, with the message's retention state:
    /// `(file, sender, recipient, fetched_at, expired_at, purged_at)`.
    pub async fn file_for(&self, public_id: &str, idx: i64, office: &str) -> Result<Option<StoredFile>> {
        on_pool!(self, |pool, sql| {
            let r = sqlx::query(sql("SELECT f.idx, f.name, f.kind, f.service_month, f.size, f.sha256, m.sender, m.recipient, m.fetched_at, m.expired_at, m.purged_at, f.csv_version, b.content FROM messages m JOIN files f ON f.message_id = m.id LEFT JOIN blob_inline b ON b.sha256 = f.sha256 WHERE m.public_id = ? AND (m.sender = ? OR m.recipient = ?) AND f.idx = ?"))
                .bind(public_id)
                .bind(office)
                .bind(office)
                .bind(idx)
                .fetch_optional(pool)
                .await?;
            Ok(r.map(|r| {
                let f = FileRow {
                    idx: r.get(0),
                    name: r.get(1),
                    kind: r.get(2),
                    service_month: r.get(3),
                    size: r.get(4),
                    sha256: r.get(5),
                    csv_version: r.get("csv_version"),
                };
                StoredFile {
                    file: f,
                    sender: r.get(6),
                    recipient: r.get(7),
                    fetched_at: r.get(8),
                    expired_at: r.get(9),
                    purged_at: r.get(10),
                    content: r.get("content"),
                }
            }))
        })
    }

    /// The message a sender stored under an idempotency key, with the digest of the request it
    /// was stored for (`None` for messages stored before digests were kept).
    pub async fn message_by_idempotency(&self, sender: &str, key: &str) -> Result<Option<KeyedMessage>> {
        let found: Option<(i64, Option<String>)> = on_pool!(self, |pool, sql| {
            sqlx::query(sql("SELECT id, idempotency_digest FROM messages WHERE sender = ? AND idempotency_key = ?"))
                .bind(sender)
                .bind(key)
                .fetch_optional(pool)
                .await?
                .map(|r| (r.get(0), r.get(1)))
        });
        match found {
            Some((id, digest)) => Ok(self.message_by_id(id).await?.map(|message| KeyedMessage { message, digest })),
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

    /// Stores a message, its files, its small files' contents and an audit row in one
    /// transaction, and answers once that is committed (durable).
    ///
    /// On SQLite the sends that arrive while the single writer is busy are committed together:
    /// whichever waiting send gets the writer first takes every send queued by then and stores
    /// each in its own savepoint of one transaction (one refused send, say a repeated
    /// idempotency key, leaves the others alone), then commits them with one fsync; each
    /// caller is answered only after that commit. PostgreSQL groups concurrent commits itself.
    pub async fn insert_message(&self, m: &NewMessage, audit: Audit<'_>) -> Result<i64> {
        let writer = match &self.backend {
            Backend::Sqlite(_, writer) => writer,
            Backend::Postgres(pool) => {
                let sql = sql_postgres;
                let mut tx = pool.begin().await?;
                let id = insert_one!(&mut tx, sql, m, &audit)?;
                tx.commit().await?;
                return Ok(id);
            }
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let pending = PendingSend { message: m.clone(), audit: OwnedAudit::from(&audit), answer };
        self.sends.lock().unwrap_or_else(|e| e.into_inner()).push(pending);
        // Whoever holds the writer commits what is queued; this caller's own send is either in
        // the batch it takes now or was taken (and answered) by an earlier holder.
        match writer.acquire().await {
            Ok(mut conn) => {
                let batch = std::mem::take(&mut *self.sends.lock().unwrap_or_else(|e| e.into_inner()));
                if !batch.is_empty() {
                    commit_sends(&mut conn, batch).await;
                }
            }
            Err(e) => {
                // Nobody could take the writer: answer every queued send (ours included) with
                // the fault rather than leave one waiting.
                let err = StoreError::from(e);
                for p in std::mem::take(&mut *self.sends.lock().unwrap_or_else(|e| e.into_inner())) {
                    let _ = p.answer.send(Err(clone_error(&err)));
                }
            }
        }
        answered.await.map_err(|_| StoreError::Backend("the group commit dropped a send".into()))?
    }

    /// A message by internal id (as returned by [`Store::insert_message`]).
    pub async fn message_by_id(&self, id: i64) -> Result<Option<MessageRow>> {
        self.message_where(MessageKey::Id(id)).await
    }

    /// A message and its files in two statements.
    async fn message_where(&self, key: MessageKey<'_>) -> Result<Option<MessageRow>> {
        let row: Option<MessageRow> = on_pool!(self, |pool, sql| {
            let q = match key {
                MessageKey::Id(id) => sqlx::query(sql(&format!("SELECT {LIST_COLUMNS} FROM messages m WHERE m.id = ?"))).bind(id),
                MessageKey::Public { public_id, office } => sqlx::query(sql(&format!(
                    "SELECT {LIST_COLUMNS} FROM messages m WHERE m.public_id = ? AND (m.sender = ? OR m.recipient = ?)"
                )))
                .bind(public_id)
                .bind(office)
                .bind(office),
            };
            q.fetch_optional(pool).await?.map(|r| message_row!(&r))
        });
        match row {
            Some(m) => Ok(self.with_files(vec![m]).await?.pop()),
            None => Ok(None),
        }
    }

    /// A message by public id, only if `office` is its sender or recipient.
    pub async fn message_for(&self, public_id: &str, office: &str) -> Result<Option<MessageRow>> {
        self.message_where(MessageKey::Public { public_id, office }).await
    }

    fn list_sql(inbox: bool, f: &ListFilter) -> String {
        let (own, other) = if inbox { ("recipient", "sender") } else { ("sender", "recipient") };
        let mut text = format!("SELECT {LIST_COLUMNS} FROM messages m WHERE m.{own} = ?");
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
        let rows: Vec<MessageRow> = on_pool!(self, |pool, sql| {
            let mut q = sqlx::query(sql(&text)).bind(office);
            for v in [&f.counterpart, &f.kind, &f.month].into_iter().flatten() {
                q = q.bind(v);
            }
            for v in [f.since, f.until, f.before_id].into_iter().flatten() {
                q = q.bind(v);
            }
            q.bind(f.limit).fetch_all(pool).await?.iter().map(|r| message_row!(r)).collect()
        });
        self.with_files(rows).await
    }

    /// Messages with their files for a list of ids, in that order: two queries in all.
    /// The files of listed messages, in one statement.
    async fn with_files(&self, mut rows: Vec<MessageRow>) -> Result<Vec<MessageRow>> {
        if rows.is_empty() {
            return Ok(rows);
        }
        let marks = vec!["?"; rows.len()].join(", ");
        let q_files = format!(
            "SELECT message_id, idx, name, kind, service_month, size, sha256, csv_version FROM files WHERE message_id IN ({marks}) ORDER BY message_id, idx"
        );
        // The text is built from fixed fragments and `?` marks; every id is bound.
        let files: Vec<(i64, FileRow)> = on_pool!(self, |pool, sql| {
            let mut q = sqlx::query(sql(&q_files));
            for m in &rows {
                q = q.bind(m.id);
            }
            q.fetch_all(pool)
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
                            csv_version: r.get(7),
                        },
                    )
                })
                .collect()
        });
        let at: std::collections::HashMap<i64, usize> = rows.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        for (mid, f) in files {
            if let Some(&i) = at.get(&mid) {
                rows[i].files.push(f);
            }
        }
        Ok(rows)
    }

    /// Marks a message fetched (first time only); idempotent. `true` when this call marked it.
    pub async fn mark_fetched(&self, id: i64, user: i64, terminal: &str, now: i64, audit: Audit<'_>) -> Result<bool> {
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
            let changed = r.rows_affected() == 1;
            if changed {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Marks a message opened (開封: its detail was read); idempotent. Opening is not fetching:
    /// 取得済 is set only when the files were taken ([`Store::mark_fetched`]). `true` when this
    /// call marked it.
    pub async fn mark_opened(&self, id: i64, user: i64, now: i64, audit: Audit<'_>) -> Result<bool> {
        on_writer!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let r = sqlx::query(sql("UPDATE messages SET opened_at = ?, opened_by = ? WHERE id = ? AND opened_at IS NULL"))
                .bind(now)
                .bind(user)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let changed = r.rows_affected() == 1;
            if changed {
                insert_audit!(&mut *tx, sql, &audit, now);
            }
            tx.commit().await?;
            Ok(changed)
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
                let a = Audit { action: AuditAction::Expire, office: Some(&sender), detail: public_id.clone(), ..Default::default() };
                insert_audit!(&mut *tx, sql, &a, now);
                out.push(Expired {
                    notice: NoticeRow {
                        id,
                        public_id: nid,
                        office: Some(sender.clone()),
                        prefecture: None,
                        kind: "non_delivery".into(),
                        title,
                        body,
                        published_at: now,
                        starts_at: None,
                        expires_at: None,
                        updated_at: None,
                        withdrawn_at: None,
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

    /// Marks the content of messages sent before `cutoff` as purged, deletes the contents stored
    /// in the database that no unpurged message or draft refers to any more, and returns those
    /// hashes (their blobs, if any, are safe to delete from the blob store).
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
                    sqlx::query(sql("DELETE FROM blob_inline WHERE sha256 = ?")).bind(&sha).execute(&mut *tx).await?;
                    free.push(sha);
                }
            }
            if !ids.is_empty() {
                let a = Audit {
                    action: AuditAction::Purge,
                    detail: format!("messages={} blobs={}", ids.len(), free.len()),
                    ..Default::default()
                };
                insert_audit!(&mut *tx, sql, &a, now);
            }
            tx.commit().await?;
            Ok(free)
        })
    }

    /// How many messages wait unfetched (and not expired) in `office`'s inbox, counted up to
    /// `cap`: the screens say 「cap 件以上」 beyond it, and no count reads more rows than that.
    pub async fn unfetched_count(&self, office: &str, cap: i64) -> Result<i64> {
        on_pool!(self, |pool, sql| {
            Ok(sqlx::query_scalar(sql(
                "SELECT COUNT(*) FROM (SELECT 1 FROM messages m WHERE m.recipient = ? AND m.fetched_at IS NULL AND m.expired_at IS NULL LIMIT ?) u",
            ))
            .bind(office)
            .bind(cap)
            .fetch_one(pool)
            .await?)
        })
    }

    /// Number of stored messages.
    pub async fn message_count(&self) -> Result<i64> {
        on_pool!(self, |pool, sql| { Ok(sqlx::query(sql("SELECT COUNT(*) FROM messages")).fetch_one(pool).await?.get(0)) })
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
}
