//! Content-addressed blob store on local disk. A blob is written to a temporary file, synced,
//! and renamed into place: it is either absent or complete, never half-visible.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Hex of a SHA-256 digest.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Blobs under one folder: `<root>/<aa>/<bb>/<sha256>`.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (and creates) the folder.
    pub fn open(root: &Path) -> std::io::Result<BlobStore> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore { root: root.to_owned() })
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.root.join(&sha[..2]).join(&sha[2..4]).join(sha)
    }

    /// Stores bytes; returns their SHA-256. Idempotent.
    pub fn put(&self, data: &[u8]) -> std::io::Result<String> {
        let sha = sha256_hex(data);
        let path = self.path(&sha);
        if path.exists() {
            return Ok(sha);
        }
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir)?;
        // Unique per writer: two concurrent puts of the same content must not share a temp file.
        let tmp = self.root.join("tmp").join(format!("{sha}.{}.{}", std::process::id(), crate::auth::token()[..16].to_owned()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(sha)
    }

    /// Deletes a blob (absent is fine).
    pub fn delete(&self, sha: &str) -> std::io::Result<()> {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a sha256"));
        }
        match std::fs::remove_file(self.path(sha)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// `true` when the blob is stored.
    pub fn exists(&self, sha: &str) -> bool {
        sha.len() == 64 && self.path(sha).exists()
    }

    /// Where a stored blob lives (for streaming it); `None` if absent or not a hash.
    pub fn file_path(&self, sha: &str) -> Option<PathBuf> {
        (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| self.path(sha)).filter(|p| p.exists())
    }

    /// Reads a blob.
    pub fn get(&self, sha: &str) -> std::io::Result<Vec<u8>> {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a sha256"));
        }
        std::fs::read(self.path(sha))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_puts_of_the_same_content() {
        let dir = std::env::temp_dir().join(format!("renkei-blobs-race-{}", std::process::id()));
        let b = BlobStore::open(&dir).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for i in 0..50u32 {
                        b.put(format!("same {i}").as_bytes()).unwrap();
                    }
                });
            }
        });
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0, "no temp files left");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn put_get_is_content_addressed() {
        let dir = std::env::temp_dir().join(format!("renkei-blobs-{}", std::process::id()));
        let b = BlobStore::open(&dir).unwrap();
        let h = b.put(b"abc").unwrap();
        assert_eq!(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(b.put(b"abc").unwrap(), h);
        assert_eq!(b.get(&h).unwrap(), b"abc");
        assert!(b.get("../etc/passwd").is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
