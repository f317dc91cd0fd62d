//! Content-addressed blob store with two back ends behind one API: local disk (the default: a
//! temporary file, fsync, rename, fsync of the directory, so an acknowledged send survives a
//! crash and a blob is never half-visible) and any `object_store::ObjectStore`, S3 above all
//! (`s3://bucket/prefix`, see [`S3Options`]), which several hub nodes share. Blobs are named by
//! their SHA-256: `aa/bb/<sha256>`. One test suite runs on disk, on `object_store`'s local file
//! system and on a real S3 server (SeaweedFS, when `weed` is installed; always under CI).
//!
//! The disk back end is our own rather than `object_store`'s `LocalFileSystem`: measured with
//! `bench-hub`, `LocalFileSystem` (with fsync) cost 15–25% of end-to-end throughput.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

use crate::auth::sha256_hex;
use sha2::Digest as _;

/// Files of a send up to this size are stored in the database with their message (table
/// `blob_inline`, same transaction: one commit, one fsync, no file to create or open); larger
/// ones here. Almost every standard CSV file is a few KiB.
pub const INLINE_MAX_BYTES: usize = 64 * 1024;

/// Errors of the blob store.
#[derive(Debug)]
pub enum BlobError {
    /// The storage is full (ENOSPC): nothing was stored.
    Full(String),
    /// Anything else: the storage cannot be read or written now, or the blob is missing.
    Failed(String),
}

impl BlobError {
    /// The storage is full.
    pub fn is_full(&self) -> bool {
        matches!(self, BlobError::Full(_))
    }
}

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlobError::Full(e) => write!(f, "blob store full: {e}"),
            BlobError::Failed(e) => write!(f, "blob store: {e}"),
        }
    }
}

impl std::error::Error for BlobError {}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError::Failed(e.to_string())
    }
}

/// The blob store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Inner,
}

#[derive(Debug, Clone)]
enum Inner {
    Disk(Arc<Disk>),
    Object(Arc<Object>),
}

/// An object store, with a local folder of this process's own where large uploads are spooled
/// (hashed on the way) before they are uploaded, so that memory stays bounded.
#[derive(Debug)]
struct Object {
    store: Arc<dyn ObjectStore>,
    spool: Option<(std::path::PathBuf, std::fs::File)>,
}

/// Where an S3 bucket is and how to reach it. Empty fields fall back to the standard `AWS_*`
/// environment variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Options {
    /// `https://s3.ap-northeast-1.amazonaws.com`, or any S3-compatible server.
    pub endpoint: String,
    /// Region (`ap-northeast-1`); `us-east-1` when neither this nor `AWS_REGION` is set.
    pub region: String,
    /// Access key ID.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Allows a plain-HTTP endpoint (a server on loopback only).
    pub allow_http: bool,
    /// Seconds one request to the bucket may take before it fails (then retried, up to 3 times
    /// within twice this, before the hub answers 503).
    pub timeout_seconds: u64,
}

/// Uploads to an object store of at least this size go in parts of this size (S3's minimum
/// part is 5 MiB), two at a time: an upload holds at most two parts in memory.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The disk back end: `root` holds the blobs; this process writes its temporary files in its
/// own folder under `root/tmp`, which it holds a lock on for as long as it lives.
#[derive(Debug)]
struct Disk {
    root: std::path::PathBuf,
    tmp: std::path::PathBuf,
    _lock: std::fs::File,
    /// Held while a readiness probe writes its file; `true` once the store is closed, after
    /// which no probe writes (a shutdown leaves no probe file behind).
    probing: std::sync::Mutex<bool>,
}

fn io(e: std::io::Error) -> BlobError {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        BlobError::Full(e.to_string())
    } else {
        BlobError::Failed(e.to_string())
    }
}

/// Removes what crashed processes left in `tmp`: folders whose lock nobody holds, and loose
/// files. Never touches `root`'s blobs (a committed row only ever points there). Returns how
/// many files were removed.
fn sweep_tmp(tmp: &std::path::Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for e in std::fs::read_dir(tmp)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "lock") {
            let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) else { continue };
            if f.try_lock().is_ok() {
                let dir = p.with_extension("");
                removed += std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::remove_file(&p)?;
            }
        } else if p.is_file() {
            std::fs::remove_file(&p)?;
            removed += 1;
        } else if p.is_dir() && !p.with_extension("lock").exists() {
            removed += std::fs::read_dir(&p).map(|d| d.count()).unwrap_or(0);
            std::fs::remove_dir_all(&p)?;
        }
    }
    Ok(removed)
}

/// This process's own temporary folder under `tmp`, locked.
fn own_tmp(tmp: &std::path::Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    loop {
        let name = crate::auth::token()[..16].to_owned();
        let lock_path = tmp.join(format!("{name}.lock"));
        let f = match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        // A sweeper in another process may have locked the new file first (and will delete
        // it): take another name then.
        if f.try_lock().is_err() {
            continue;
        }
        let dir = tmp.join(&name);
        std::fs::create_dir(&dir)?;
        return Ok((dir, f));
    }
}

fn disk_put(d: &Disk, sha: &str, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let path = d.root.join(&sha[..2]).join(&sha[2..4]).join(sha);
    if path.exists() {
        return Ok(());
    }
    let dir = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir)?;
    // Unique per writer: two concurrent puts of the same content must not share a temp file.
    let tmp = d.tmp.join(format!("{sha}.{}", crate::auth::token()[..16].to_owned()));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = written {
        // No litter: a failed write (disk full, I/O error) leaves no temporary file.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Writes, syncs and removes a small file in this process's temporary folder: proves the disk
/// takes writes now.
fn disk_probe(d: &Disk) -> std::io::Result<()> {
    use std::io::Write as _;
    let closed = d.probing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if *closed {
        return Ok(());
    }
    let p = d.tmp.join("probe");
    let r = (|| {
        let mut f = std::fs::File::create(&p)?;
        f.write_all(&[0u8; 4096])?;
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&p);
    r
}

fn location(sha: &str) -> Result<ObjPath, BlobError> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BlobError::Failed(format!("not a sha256: {sha:?}")));
    }
    Ok(ObjPath::from(format!("{}/{}/{sha}", &sha[..2], &sha[2..4])))
}

impl BlobStore {
    /// Blobs on local disk under `root` (created if missing), durable (fsync). Temporary files
    /// that crashed processes left behind are removed first.
    pub fn open(root: &std::path::Path) -> Result<BlobStore, BlobError> {
        let ctx = |e: std::io::Error| BlobError::Failed(format!("{}: {e}", root.display()));
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&tmp).map_err(ctx)?;
        let swept = sweep_tmp(&tmp).map_err(ctx)?;
        if swept > 0 {
            tracing::info!(files = swept, "removed temporary blob files left by a crash");
        }
        let (own, lock) = own_tmp(&tmp).map_err(ctx)?;
        Ok(BlobStore {
            inner: Inner::Disk(Arc::new(Disk { root: root.to_owned(), tmp: own, _lock: lock, probing: std::sync::Mutex::new(false) })),
        })
    }

    /// Blobs in any object store (e.g. S3-compatible); uploads are held in memory.
    pub fn with_object_store(inner: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { inner: Inner::Object(Arc::new(Object { store: inner, spool: None })) }
    }

    /// Blobs in an S3 bucket: `url` is `s3://bucket` or `s3://bucket/prefix`. Large uploads are
    /// spooled under `spool_root` (a folder of this process's own; what crashed processes left
    /// there is removed first) and uploaded in parts. Nothing is contacted yet: the readiness
    /// probe finds out whether the bucket answers.
    pub fn open_s3(url: &str, o: &S3Options, spool_root: &std::path::Path) -> Result<BlobStore, BlobError> {
        let (bucket, prefix) = parse_s3_url(url)?;
        // The S3 client's TLS uses the process's crypto provider: ring, as everywhere in renkei.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        let set = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        if let Some(v) = set(&o.endpoint) {
            b = b.with_endpoint(v);
        }
        if let Some(v) = set(&o.region) {
            b = b.with_region(v);
        } else if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            b = b.with_region("us-east-1");
        }
        if let Some(v) = set(&o.access_key_id) {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = set(&o.secret_access_key) {
            b = b.with_secret_access_key(v);
        }
        if o.allow_http {
            b = b.with_allow_http(true);
        }
        // Fail within seconds, not object_store's default minutes: a send waits on this, and
        // the hub answers 503 with Retry-After when the bucket does not answer.
        let timeout = std::time::Duration::from_secs(o.timeout_seconds.max(1));
        let retry = object_store::RetryConfig { max_retries: 3, retry_timeout: timeout * 2, ..Default::default() };
        // Set key by key: `with_client_options` would replace what `from_env` and
        // `with_allow_http` set.
        use object_store::ClientConfigKey as K;
        use object_store::aws::AmazonS3ConfigKey::Client;
        let s3 = b
            .with_retry(retry)
            .with_config(Client(K::Timeout), format!("{}s", timeout.as_secs()))
            .with_config(Client(K::ConnectTimeout), "3s")
            .build()?;
        let store: Arc<dyn ObjectStore> =
            if prefix.is_empty() { Arc::new(s3) } else { Arc::new(object_store::prefix::PrefixStore::new(s3, prefix)) };
        let ctx = |e: std::io::Error| BlobError::Failed(format!("{}: {e}", spool_root.display()));
        crate::files::private_dir(spool_root).map_err(ctx)?;
        let swept = sweep_tmp(spool_root).map_err(ctx)?;
        if swept > 0 {
            tracing::info!(files = swept, "removed spooled uploads left by a crash");
        }
        let own = own_tmp(spool_root).map_err(ctx)?;
        Ok(BlobStore { inner: Inner::Object(Arc::new(Object { store, spool: Some(own) })) })
    }

    /// Blobs through `object_store`'s local file system (with fsync) under `root`.
    pub fn open_object_store_local(root: &std::path::Path) -> Result<BlobStore, BlobError> {
        std::fs::create_dir_all(root).map_err(io)?;
        Ok(BlobStore::with_object_store(Arc::new(LocalFileSystem::new_with_prefix(root)?.with_fsync(true))))
    }

    /// Stores bytes; returns their SHA-256. Idempotent, and safe when several writers store the
    /// same content at once.
    pub async fn put(&self, data: Bytes) -> Result<String, BlobError> {
        let sha = sha256_hex(&data);
        let loc = location(&sha)?;
        match &self.inner {
            Inner::Disk(d) => {
                let (d, sha2) = (d.clone(), sha.clone());
                tokio::task::spawn_blocking(move || disk_put(&d, &sha2, &data))
                    .await
                    .map_err(|e| BlobError::Failed(e.to_string()))?
                    .map_err(io)?;
            }
            // No existence check first: an overwrite stores the same bytes atomically.
            Inner::Object(o) => {
                o.store.put(&loc, PutPayload::from_bytes(data)).await?;
            }
        }
        Ok(sha)
    }

    fn disk_path(root: &std::path::Path, sha: &str) -> std::path::PathBuf {
        root.join(&sha[..2]).join(&sha[2..4]).join(sha)
    }

    /// Reads a blob.
    pub async fn get(&self, sha: &str) -> Result<Bytes, BlobError> {
        let loc = location(sha)?;
        match &self.inner {
            Inner::Disk(d) => Ok(Bytes::from(tokio::fs::read(Self::disk_path(&d.root, sha)).await.map_err(io)?)),
            Inner::Object(o) => Ok(o.store.get(&loc).await?.bytes().await?),
        }
    }

    /// Streams a blob.
    pub async fn stream(&self, sha: &str) -> Result<BoxStream<'static, object_store::Result<Bytes>>, BlobError> {
        let loc = location(sha)?;
        match &self.inner {
            Inner::Disk(d) => {
                use futures_util::StreamExt as _;
                let file = tokio::fs::File::open(Self::disk_path(&d.root, sha)).await.map_err(io)?;
                let s = futures_util::stream::unfold(file, |mut f| async move {
                    use tokio::io::AsyncReadExt as _;
                    let mut buf = vec![0u8; 64 * 1024];
                    match f.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            Some((Ok(Bytes::from(buf)), f))
                        }
                        Err(e) => Some((Err(object_store::Error::Generic { store: "disk", source: Box::new(e) }), f)),
                    }
                });
                Ok(s.boxed())
            }
            Inner::Object(o) => Ok(o.store.get(&loc).await?.into_stream()),
        }
    }

    /// Deletes a blob (absent is fine).
    pub async fn delete(&self, sha: &str) -> Result<(), BlobError> {
        let loc = location(sha)?;
        match &self.inner {
            Inner::Disk(d) => match tokio::fs::remove_file(Self::disk_path(&d.root, sha)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
                _ => Ok(()),
            },
            Inner::Object(o) => match o.store.delete(&loc).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Waits for a readiness probe in flight (its write runs on a blocking thread that outlives
    /// an aborted caller) and lets no other start: called at shutdown.
    pub async fn close(&self) {
        if let Inner::Disk(d) = &self.inner {
            let d = d.clone();
            let _ = tokio::task::spawn_blocking(move || *d.probing.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = true).await;
        }
    }

    /// Proves that the store takes a durable write now (the readiness probe).
    pub async fn probe(&self) -> Result<(), BlobError> {
        match &self.inner {
            Inner::Disk(d) => {
                let d = d.clone();
                tokio::task::spawn_blocking(move || disk_probe(&d)).await.map_err(|e| BlobError::Failed(e.to_string()))?.map_err(io)
            }
            Inner::Object(o) => {
                let loc = ObjPath::from("health/probe");
                o.store.put(&loc, PutPayload::from_static(b"ok")).await?;
                Ok(())
            }
        }
    }

    /// A spool for an upload too large to hold in memory, written to this process's temporary
    /// folder and hashed as it arrives; `None` where the back end has no local folder (an object
    /// store opened without one: the upload stays in memory).
    pub async fn spool(&self) -> Result<Option<Spool>, BlobError> {
        let dir = match &self.inner {
            Inner::Disk(d) => &d.tmp,
            Inner::Object(o) => match &o.spool {
                Some((dir, _)) => dir,
                None => return Ok(None),
            },
        };
        let path = dir.join(format!("upload.{}", &crate::auth::token()[..16]));
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        Ok(Some(Spool { file, hasher: sha2::Sha256::new(), spooled: Spooled { path, size: 0, sha256: String::new() } }))
    }

    /// Stores a spooled upload: on disk synced and renamed into place (or dropped if the same
    /// content is already stored); in an object store uploaded from the file, in parts when it
    /// is large. Returns its SHA-256.
    pub async fn adopt(&self, s: &Spooled) -> Result<String, BlobError> {
        let loc = location(&s.sha256)?;
        let d = match &self.inner {
            Inner::Disk(d) => d,
            Inner::Object(o) => {
                upload_file(o.store.as_ref(), &loc, &s.path, s.size).await?;
                return Ok(s.sha256.clone());
            }
        };
        let (d, tmp, sha) = (d.clone(), s.path.clone(), s.sha256.clone());
        tokio::task::spawn_blocking(move || {
            let path = Self::disk_path(&d.root, &sha);
            if path.exists() {
                return Ok(());
            }
            let dir = path.parent().expect("blob paths have a parent");
            std::fs::create_dir_all(dir)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        })
        .await
        .map_err(|e| BlobError::Failed(e.to_string()))?
        .map_err(io)?;
        Ok(s.sha256.clone())
    }

    /// `true` when the blob is stored.
    pub async fn exists(&self, sha: &str) -> bool {
        let Ok(loc) = location(sha) else { return false };
        match &self.inner {
            Inner::Disk(d) => tokio::fs::try_exists(Self::disk_path(&d.root, sha)).await.unwrap_or(false),
            Inner::Object(o) => o.store.head(&loc).await.is_ok(),
        }
    }
}

/// Uploads a local file to `loc`: in one request when small, else in parts of [`PART_BYTES`]
/// (at most two in flight). A failed multipart upload is aborted.
async fn upload_file(store: &dyn ObjectStore, loc: &ObjPath, path: &std::path::Path, size: usize) -> Result<(), BlobError> {
    use tokio::io::AsyncReadExt as _;
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    if size < PART_BYTES {
        let mut buf = Vec::with_capacity(size);
        file.read_to_end(&mut buf).await.map_err(io)?;
        store.put(loc, PutPayload::from(buf)).await?;
        return Ok(());
    }
    let mut w = object_store::WriteMultipart::new_with_chunk_size(store.put_multipart(loc).await?, PART_BYTES);
    let sent = async {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buf).await.map_err(io)?;
            if n == 0 {
                break;
            }
            w.wait_for_capacity(2).await?;
            w.write(&buf[..n]);
        }
        Ok::<_, BlobError>(())
    }
    .await;
    match sent {
        Ok(()) => w.finish().await.map(drop).map_err(BlobError::from),
        Err(e) => {
            let _ = w.abort().await;
            Err(e)
        }
    }
}

/// `s3://bucket[/prefix]` → (bucket, prefix).
fn parse_s3_url(url: &str) -> Result<(&str, &str), BlobError> {
    let bad = || BlobError::Failed(format!("not an S3 URL (s3://bucket/prefix): {url:?}"));
    let rest = url.strip_prefix("s3://").ok_or_else(bad)?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad());
    }
    Ok((bucket, prefix.trim_matches('/')))
}

/// An upload being written to the blob store's temporary folder (see [`BlobStore::spool`]).
#[derive(Debug)]
pub struct Spool {
    file: tokio::fs::File,
    hasher: sha2::Sha256,
    spooled: Spooled,
}

impl Spool {
    /// Appends a chunk.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        use tokio::io::AsyncWriteExt as _;
        self.hasher.update(chunk);
        self.spooled.size += chunk.len();
        self.file.write_all(chunk).await.map_err(io)
    }

    /// The whole upload, hashed (not yet synced: [`BlobStore::adopt`] does that).
    pub async fn finish(mut self) -> Result<Spooled, BlobError> {
        use tokio::io::AsyncWriteExt as _;
        self.file.flush().await.map_err(io)?;
        self.spooled.sha256 = crate::auth::hex(&self.hasher.finalize());
        Ok(self.spooled)
    }
}

/// A spooled upload: its temporary file, size and SHA-256. The file is removed when this is
/// dropped unless [`BlobStore::adopt`] moved it into place first, so a refused or failed send
/// leaves nothing behind.
#[derive(Debug)]
pub struct Spooled {
    path: std::path::PathBuf,
    /// Bytes.
    pub size: usize,
    /// SHA-256 (hex).
    pub sha256: String,
}

impl Spooled {
    /// Reads the whole spooled file (for an upload that must be opened, such as a ZIP; the
    /// caller bounds it by [`Spooled::size`]).
    pub async fn read_all(&self) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(&self.path).await
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("renkei-blobs-{tag}-{}", std::process::id()))
    }

    /// A back end under test, with what keeps it alive.
    struct Backend {
        name: &'static str,
        /// Where blobs land on disk (disk back ends only).
        root: Option<std::path::PathBuf>,
        store: BlobStore,
        _s3: Option<renkei_testkit::seaweed::SeaweedFs>,
        cleanup: Vec<std::path::PathBuf>,
    }

    impl Drop for Backend {
        fn drop(&mut self) {
            for d in &self.cleanup {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }

    /// A real S3 server (SeaweedFS) and a store on it, or `None` where `weed` is not installed
    /// (never under CI).
    fn s3(tag: &str) -> Option<(renkei_testkit::seaweed::SeaweedFs, BlobStore, std::path::PathBuf)> {
        if !renkei_testkit::seaweed::required() {
            eprintln!("{tag}: weed is not on PATH; the S3 back end is not tried here (.ci/run installs it)");
            return None;
        }
        let server = renkei_testkit::seaweed::SeaweedFs::start(&dir(&format!("{tag}-weed"))).expect("starting SeaweedFS");
        let o = S3Options {
            endpoint: server.endpoint.clone(),
            access_key_id: renkei_testkit::seaweed::ACCESS_KEY.into(),
            secret_access_key: renkei_testkit::seaweed::SECRET_KEY.into(),
            allow_http: true,
            timeout_seconds: 5,
            ..S3Options::default()
        };
        let spool = dir(&format!("{tag}-s3spool"));
        let store = BlobStore::open_s3(&server.url(tag), &o, &spool).unwrap();
        Some((server, store, spool))
    }

    /// Every back end: the tuned disk writer, object_store's local file system, and S3.
    fn backends(tag: &str) -> Vec<Backend> {
        let (d1, d2) = (dir(&format!("{tag}-disk")), dir(&format!("{tag}-os")));
        let mut v = vec![
            Backend { name: "disk", root: Some(d1.clone()), store: BlobStore::open(&d1).unwrap(), _s3: None, cleanup: vec![d1] },
            Backend {
                name: "object_store local",
                root: Some(d2.clone()),
                store: BlobStore::open_object_store_local(&d2).unwrap(),
                _s3: None,
                cleanup: vec![d2],
            },
        ];
        if let Some((server, store, spool)) = s3(tag) {
            v.push(Backend { name: "s3", root: None, store, _s3: Some(server), cleanup: vec![spool] });
        }
        v
    }

    #[tokio::test]
    async fn put_get_is_content_addressed() {
        for b in backends("basic") {
            eprintln!("back end: {}", b.name);
            put_get(b.root.as_deref(), &b.store).await;
        }
    }

    async fn put_get(root: Option<&std::path::Path>, b: &BlobStore) {
        let h = b.put(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(b.put(Bytes::from_static(b"abc")).await.unwrap(), h);
        assert_eq!(b.get(&h).await.unwrap().as_ref(), b"abc");
        assert!(b.exists(&h).await);
        if let Some(d) = root {
            assert!(d.join("ba").join("78").join(&h).exists());
        }
        assert!(b.get("../etc/passwd").await.is_err());
        assert!(b.get(&sha256_hex(b"never stored")).await.is_err(), "a missing blob is an error");
        b.delete(&h).await.unwrap();
        b.delete(&h).await.unwrap();
        assert!(!b.exists(&h).await);
        let big = Bytes::from(vec![7u8; 200_000]);
        let hb = b.put(big.clone()).await.unwrap();
        use futures_util::StreamExt as _;
        let streamed: Vec<u8> = b.stream(&hb).await.unwrap().map(|c| c.unwrap().to_vec()).concat().await;
        assert_eq!(streamed, big.to_vec());
        assert!(b.probe().await.is_ok());
    }

    #[test]
    fn s3_urls() {
        assert_eq!(parse_s3_url("s3://bucket/a/b/").unwrap(), ("bucket", "a/b"));
        assert_eq!(parse_s3_url("s3://bucket").unwrap(), ("bucket", ""));
        assert!(parse_s3_url("s3:///x").is_err());
        assert!(parse_s3_url("https://bucket/x").is_err());
        assert!(BlobStore::open_s3("file:///tmp", &S3Options::default(), &dir("bad-url")).is_err());
    }

    #[tokio::test]
    async fn a_large_upload_reaches_s3_in_parts_from_its_spool() {
        let Some((_server, b, spool)) = s3("parts") else { return };
        // Larger than two parts, not a multiple of the part size.
        let data: Vec<u8> = (0..(2 * PART_BYTES + 123_457)).map(|i| (i % 253) as u8).collect();
        let mut s = b.spool().await.unwrap().expect("an S3 store spools large uploads on local disk");
        for chunk in data.chunks(64 * 1024) {
            s.write(chunk).await.unwrap();
        }
        let spooled = s.finish().await.unwrap();
        assert_eq!(b.adopt(&spooled).await.unwrap(), sha256_hex(&data));
        drop(spooled);
        assert_eq!(b.get(&sha256_hex(&data)).await.unwrap(), data);
        let own = std::fs::read_dir(&spool).unwrap().filter_map(Result::ok).find(|e| e.path().is_dir()).unwrap().path();
        assert_eq!(std::fs::read_dir(own).unwrap().count(), 0, "the spooled file is gone once uploaded");
        // A small spooled upload goes in one request.
        let mut s = b.spool().await.unwrap().unwrap();
        s.write(&data[..100_000]).await.unwrap();
        let small = s.finish().await.unwrap();
        assert_eq!(b.adopt(&small).await.unwrap(), sha256_hex(&data[..100_000]));
        assert_eq!(b.get(&small.sha256).await.unwrap().as_ref(), &data[..100_000]);
        let _ = std::fs::remove_dir_all(spool);
    }

    #[tokio::test]
    async fn an_s3_outage_fails_within_seconds_and_recovers_by_itself() {
        let Some((mut server, b, spool)) = s3("outage") else { return };
        let kept = b.put(Bytes::from_static(b"before the outage")).await.unwrap();
        server.stop();
        let started = std::time::Instant::now();
        let e = b.put(Bytes::from_static(b"during the outage")).await.expect_err("nothing is acknowledged while S3 is down");
        assert!(!e.is_full());
        assert!(b.probe().await.is_err(), "the readiness probe sees the outage");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "failed in {:?}", started.elapsed());
        server.restart().expect("restarting SeaweedFS");
        b.probe().await.expect("the same store works again once S3 is back");
        assert_eq!(b.get(&kept).await.unwrap().as_ref(), b"before the outage");
        b.put(Bytes::from_static(b"after the outage")).await.unwrap();
        let _ = std::fs::remove_dir_all(spool);
    }

    #[tokio::test]
    async fn opening_sweeps_what_crashed_writers_left_but_not_a_live_writers_files() {
        let d = dir("sweep");
        let live = BlobStore::open(&d).unwrap();
        let Inner::Disk(disk) = &live.inner else { unreachable!() };
        let in_flight = disk.tmp.join("in-flight");
        std::fs::write(&in_flight, b"being written").unwrap();
        // A crashed process: its folder and lock file remain, nobody holds the lock.
        let tmp = d.join("tmp");
        std::fs::create_dir_all(tmp.join("dead")).unwrap();
        std::fs::write(tmp.join("dead").join("x.part"), b"half").unwrap();
        std::fs::write(tmp.join("dead.lock"), b"").unwrap();
        // The layout before per-process folders: loose files.
        std::fs::write(tmp.join("loose.1234"), b"old").unwrap();
        let h = live.put(Bytes::from_static(b"kept")).await.unwrap();

        let second = BlobStore::open(&d).unwrap();
        assert!(!tmp.join("dead").exists() && !tmp.join("dead.lock").exists(), "a dead writer's folder is swept");
        assert!(!tmp.join("loose.1234").exists(), "loose files are swept");
        assert!(in_flight.exists(), "a live writer's file is never touched");
        assert_eq!(second.get(&h).await.unwrap().as_ref(), b"kept", "blobs are never touched");
        assert!(second.probe().await.is_ok());
        drop((live, second));
        // Once the writer is gone, its folder goes at the next start.
        let _third = BlobStore::open(&d).unwrap();
        assert!(!in_flight.exists());
        std::fs::remove_dir_all(d).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_puts_of_the_same_content() {
        for b in backends("race") {
            eprintln!("back end: {}", b.name);
            race(&b.store).await;
        }
    }

    async fn race(b: &BlobStore) {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..50u32 {
                    b.put(Bytes::from(format!("same {i}"))).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        for i in 0..50u32 {
            assert_eq!(b.get(&sha256_hex(format!("same {i}").as_bytes())).await.unwrap(), format!("same {i}"));
        }
    }

    #[tokio::test]
    async fn a_spooled_upload_is_hashed_on_the_way_and_leaves_nothing_unless_adopted() {
        let d = dir("spool");
        let b = BlobStore::open(&d).unwrap();
        let Inner::Disk(disk) = &b.inner else { unreachable!() };
        let files_in_tmp = || std::fs::read_dir(&disk.tmp).unwrap().count();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut s = b.spool().await.unwrap().expect("the disk back end spools");
        for chunk in data.chunks(7_000) {
            s.write(chunk).await.unwrap();
        }
        let spooled = s.finish().await.unwrap();
        assert_eq!((spooled.size, spooled.sha256.as_str()), (data.len(), sha256_hex(&data).as_str()));
        assert_eq!(files_in_tmp(), 1);
        assert_eq!(b.adopt(&spooled).await.unwrap(), sha256_hex(&data));
        assert_eq!(b.get(&spooled.sha256).await.unwrap(), data);
        assert_eq!(files_in_tmp(), 0, "adopted: moved into place");
        drop(spooled);
        assert!(b.exists(&sha256_hex(&data)).await, "dropping an adopted upload keeps the blob");
        // Refused (dropped before adoption), or abandoned half-written: nothing stays.
        let mut s = b.spool().await.unwrap().unwrap();
        s.write(b"half").await.unwrap();
        drop(s);
        let mut s = b.spool().await.unwrap().unwrap();
        s.write(b"refused").await.unwrap();
        drop(s.finish().await.unwrap());
        assert_eq!(files_in_tmp(), 0);
        // The same content twice: the second adoption finds it stored and leaves no litter.
        let mut s = b.spool().await.unwrap().unwrap();
        s.write(&data).await.unwrap();
        let again = s.finish().await.unwrap();
        assert_eq!(b.adopt(&again).await.unwrap(), sha256_hex(&data));
        drop(again);
        assert_eq!(files_in_tmp(), 0);
        // An object store has no local folder: uploads stay in memory there.
        let o = BlobStore::open_object_store_local(&dir("spool-os")).unwrap();
        assert!(o.spool().await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(dir("spool-os"));
    }

    #[tokio::test]
    async fn a_closed_store_writes_no_probe_file() {
        let dir = std::env::temp_dir().join(format!("renkei-blobs-close-{}", std::process::id()));
        let store = BlobStore::open(&dir).unwrap();
        assert!(store.probe().await.is_ok());
        store.close().await;
        assert!(store.probe().await.is_ok(), "a closed store answers probes without writing");
        let Inner::Disk(d) = &store.inner else { unreachable!() };
        assert!(std::fs::read_dir(&d.tmp).unwrap().next().is_none(), "no probe file left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
