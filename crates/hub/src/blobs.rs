//! Content-addressed blob store with two back ends behind one API: local disk (the default: a
//! temporary file, fsync, rename, fsync of the directory, so an acknowledged send survives a
//! crash and a blob is never half-visible) and any `object_store::ObjectStore` (S3-compatible
//! storage follows this way). Blobs are named by their SHA-256: `aa/bb/<sha256>`. One test suite
//! runs on both back ends.
//!
//! The disk back end is our own rather than `object_store`'s `LocalFileSystem`: measured with
//! `bench-hub`, `LocalFileSystem` (with fsync) cost 15–25% of end-to-end throughput.

use bytes::Bytes;
use futures_util::stream::BoxStream;
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
    Object(Arc<dyn ObjectStore>),
}

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

    /// Blobs in any object store (e.g. S3-compatible).
    pub fn with_object_store(inner: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { inner: Inner::Object(inner) }
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
                o.put(&loc, PutPayload::from_bytes(data)).await?;
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
            Inner::Object(o) => Ok(o.get(&loc).await?.bytes().await?),
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
            Inner::Object(o) => Ok(o.get(&loc).await?.into_stream()),
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
            Inner::Object(o) => match o.delete(&loc).await {
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
                o.put(&loc, PutPayload::from_static(b"ok")).await?;
                Ok(())
            }
        }
    }

    /// A spool for an upload too large to hold in memory, written to this process's temporary
    /// folder and hashed as it arrives; `None` where the back end has no local folder (object
    /// stores: the upload stays in memory).
    pub async fn spool(&self) -> Result<Option<Spool>, BlobError> {
        let Inner::Disk(d) = &self.inner else { return Ok(None) };
        let path = d.tmp.join(format!("upload.{}", &crate::auth::token()[..16]));
        let file = tokio::fs::File::create(&path).await.map_err(io)?;
        Ok(Some(Spool { file, hasher: sha2::Sha256::new(), spooled: Spooled { path, size: 0, sha256: String::new() } }))
    }

    /// Stores a spooled upload: synced and renamed into place (or dropped if the same content is
    /// already stored); returns its SHA-256.
    pub async fn adopt(&self, s: &Spooled) -> Result<String, BlobError> {
        let Inner::Disk(d) = &self.inner else { return Err(BlobError::Failed("spooled upload on an object store".into())) };
        location(&s.sha256)?;
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
            Inner::Object(o) => o.head(&loc).await.is_ok(),
        }
    }
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

    /// Both back ends: the tuned disk writer and object_store's local file system.
    fn both(tag: &str) -> Vec<(std::path::PathBuf, BlobStore)> {
        let (d1, d2) = (dir(&format!("{tag}-disk")), dir(&format!("{tag}-os")));
        vec![(d1.clone(), BlobStore::open(&d1).unwrap()), (d2.clone(), BlobStore::open_object_store_local(&d2).unwrap())]
    }

    #[tokio::test]
    async fn put_get_is_content_addressed() {
        for (d, b) in both("basic") {
            put_get(&d, &b).await;
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    async fn put_get(d: &std::path::Path, b: &BlobStore) {
        let h = b.put(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(b.put(Bytes::from_static(b"abc")).await.unwrap(), h);
        assert_eq!(b.get(&h).await.unwrap().as_ref(), b"abc");
        assert!(d.join("ba").join("78").join(&h).exists());
        assert!(b.get("../etc/passwd").await.is_err());
        b.delete(&h).await.unwrap();
        b.delete(&h).await.unwrap();
        assert!(!b.exists(&h).await);
        let big = Bytes::from(vec![7u8; 200_000]);
        let hb = b.put(big.clone()).await.unwrap();
        use futures_util::StreamExt as _;
        let streamed: Vec<u8> = b.stream(&hb).await.unwrap().map(|c| c.unwrap().to_vec()).concat().await;
        assert_eq!(streamed, big.to_vec());
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
        for (d, b) in both("race") {
            race(&b).await;
            std::fs::remove_dir_all(d).unwrap();
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
