//! Content-addressed blob store behind `object_store`: local disk now (with fsync of the file and
//! its directory, so an acknowledged send survives a crash), any `ObjectStore` (S3-compatible)
//! later. A blob is written under a temporary name and renamed into place: it is either absent or
//! complete, never half-visible. Blobs are named by their SHA-256: `aa/bb/<sha256>`.

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Hex of a SHA-256 digest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Errors of the blob store.
#[derive(Debug)]
pub struct BlobError(String);

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "blob store: {}", self.0)
    }
}

impl std::error::Error for BlobError {}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        BlobError(e.to_string())
    }
}

/// The blob store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

fn location(sha: &str) -> Result<ObjPath, BlobError> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BlobError(format!("not a sha256: {sha:?}")));
    }
    Ok(ObjPath::from(format!("{}/{}/{sha}", &sha[..2], &sha[2..4])))
}

impl BlobStore {
    /// Blobs on local disk under `root` (created if missing), durable (fsync).
    pub fn open(root: &std::path::Path) -> Result<BlobStore, BlobError> {
        std::fs::create_dir_all(root).map_err(|e| BlobError(format!("{}: {e}", root.display())))?;
        let fs = LocalFileSystem::new_with_prefix(root)?.with_fsync(true);
        Ok(BlobStore { inner: Arc::new(fs) })
    }

    /// Blobs in any object store (e.g. S3-compatible).
    pub fn with_object_store(inner: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore { inner }
    }

    /// Stores bytes; returns their SHA-256. Idempotent, and safe when several writers store the
    /// same content at once.
    pub async fn put(&self, data: Bytes) -> Result<String, BlobError> {
        let sha = sha256_hex(&data);
        let loc = location(&sha)?;
        if self.inner.head(&loc).await.is_ok() {
            return Ok(sha);
        }
        self.inner.put(&loc, PutPayload::from_bytes(data)).await?;
        Ok(sha)
    }

    /// Reads a blob.
    pub async fn get(&self, sha: &str) -> Result<Bytes, BlobError> {
        Ok(self.inner.get(&location(sha)?).await?.bytes().await?)
    }

    /// Streams a blob.
    pub async fn stream(&self, sha: &str) -> Result<BoxStream<'static, object_store::Result<Bytes>>, BlobError> {
        Ok(self.inner.get(&location(sha)?).await?.into_stream())
    }

    /// Deletes a blob (absent is fine).
    pub async fn delete(&self, sha: &str) -> Result<(), BlobError> {
        match self.inner.delete(&location(sha)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// `true` when the blob is stored.
    pub async fn exists(&self, sha: &str) -> bool {
        match location(sha) {
            Ok(loc) => self.inner.head(&loc).await.is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("renkei-blobs-{tag}-{}", std::process::id()))
    }

    #[tokio::test]
    async fn put_get_is_content_addressed() {
        let d = dir("basic");
        let b = BlobStore::open(&d).unwrap();
        let h = b.put(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(b.put(Bytes::from_static(b"abc")).await.unwrap(), h);
        assert_eq!(b.get(&h).await.unwrap().as_ref(), b"abc");
        assert!(d.join("ba").join("78").join(&h).exists());
        assert!(b.get("../etc/passwd").await.is_err());
        b.delete(&h).await.unwrap();
        b.delete(&h).await.unwrap();
        assert!(!b.exists(&h).await);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_puts_of_the_same_content() {
        let d = dir("race");
        let b = BlobStore::open(&d).unwrap();
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
        std::fs::remove_dir_all(d).unwrap();
    }
}
