//! Backups of a hub on its embedded default (an SQLite database and blobs on disk), and the
//! check that every stored file is there and whole — after a restore, or on a live hub.
//! PostgreSQL and S3 are backed up with their own tools (docs/deploy/README.md); the check works
//! on every back end.

use crate::blobs::BlobStore;
use crate::store::Store;
use anyhow::{Context as _, bail};
use std::path::Path;

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Blob files copied (content-addressed: the ones already in the target are kept).
    pub blobs_copied: usize,
    /// Blob files in the backup in all.
    pub blobs: usize,
}

/// Writes a backup of a running (or stopped) hub into `to`, which becomes a data directory a
/// hub can start from: `hub.db` (a consistent copy taken while the hub works), the CA (`ca/`,
/// owner-only: it holds the CA key) and the blobs (`blobs/`). The database is copied first, so
/// every file a copied row names is in the blobs copied after it. `to` must not hold a
/// database yet; its blobs folder may be an earlier backup's (only new files are copied).
pub async fn backup(store: &Store, data_dir: &Path, to: &Path) -> anyhow::Result<BackupReport> {
    crate::files::private_dir(to).with_context(|| format!("creating {}", to.display()))?;
    let db = to.join("hub.db");
    if db.exists() {
        bail!("{} already exists: back up into a new folder", db.display());
    }
    store.backup_to(&db).await.context("copying the database")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))?;
    }
    let ca = data_dir.join("ca");
    if ca.join("ca.key").exists() {
        crate::files::private_dir(&to.join("ca"))?;
        for f in ["ca.pem", "ca.key"] {
            crate::files::write_private(&to.join("ca").join(f), &std::fs::read(ca.join(f))?)?;
        }
    }
    let (from, into) = (data_dir.join("blobs"), to.join("blobs"));
    let (mut copied, mut all) = (0, 0);
    if from.is_dir() {
        for a in std::fs::read_dir(&from)? {
            let a = a?;
            let name = a.file_name();
            // Two hex digits: the fan-out folders (not `tmp`).
            if name.len() != 2 || !a.path().is_dir() {
                continue;
            }
            for b in std::fs::read_dir(a.path())? {
                let b = b?;
                for f in std::fs::read_dir(b.path())? {
                    let f = f?.path();
                    let target = into.join(&name).join(b.file_name()).join(f.file_name().context("blob name")?);
                    all += 1;
                    if target.exists() {
                        continue;
                    }
                    crate::files::private_dir(target.parent().context("blob folder")?)?;
                    let part = target.with_extension("part");
                    std::fs::copy(&f, &part)?;
                    std::fs::File::open(&part)?.sync_all()?;
                    std::fs::rename(&part, &target)?;
                    copied += 1;
                }
            }
        }
    }
    Ok(BackupReport { blobs_copied: copied, blobs: all })
}

/// What a check of the stored files found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Files checked (of messages whose content is not purged).
    pub files: usize,
    /// `message/index` of files whose content is missing.
    pub missing: Vec<String>,
    /// `message/index` of files whose content does not have the SHA-256 recorded.
    pub mismatched: Vec<String>,
}

impl CheckReport {
    /// Every file is there and whole.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.mismatched.is_empty()
    }
}

/// Reads every stored file back (from its row or the blob store) and compares its SHA-256 with
/// the one recorded when it was sent.
pub async fn check_files(store: &Store, blobs: &BlobStore) -> anyhow::Result<CheckReport> {
    use futures_util::StreamExt as _;
    use sha2::Digest as _;
    let mut report = CheckReport::default();
    let mut after = (0, -1);
    loop {
        let page = store.stored_contents(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = (last.message_row, last.idx);
        for f in page {
            report.files += 1;
            let at = format!("{}/{}", f.message, f.idx);
            let sha = match f.inline {
                Some(bytes) => crate::auth::sha256_hex(&bytes),
                None => match blobs.stream(&f.sha256).await {
                    Ok(mut s) => {
                        let mut h = sha2::Sha256::new();
                        let mut broken = false;
                        while let Some(chunk) = s.next().await {
                            match chunk {
                                Ok(c) => h.update(&c),
                                Err(_) => {
                                    broken = true;
                                    break;
                                }
                            }
                        }
                        if broken {
                            report.missing.push(at);
                            continue;
                        }
                        crate::auth::hex(&h.finalize())
                    }
                    Err(_) => {
                        report.missing.push(at);
                        continue;
                    }
                },
            };
            if sha != f.sha256 {
                report.mismatched.push(at);
            }
        }
    }
    Ok(report)
}
