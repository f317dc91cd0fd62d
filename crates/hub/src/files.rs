//! Files the hub creates: owner-only from the moment they exist (mode 0600, folders 0700), never
//! world-readable for an instant before a chmod.

use std::io::Write as _;
use std::path::Path;

/// Writes `data` to `path`, created owner-only (an existing file is made owner-only first).
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        o.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let mut f = o.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Creates `path` owner-only if it does not exist (so that SQLite, which gives its WAL and
/// shared-memory files the database file's mode, creates them owner-only too).
pub fn ensure_private_file(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        o.mode(0o600);
    }
    o.open(path).map(drop)
}

/// Creates `path` and its missing parents owner-only (0700).
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_owner_only() {
        let d = std::env::temp_dir().join(format!("renkei-files-{}", std::process::id()));
        private_dir(&d.join("a")).unwrap();
        assert_eq!(mode(&d.join("a")), 0o700);
        write_private(&d.join("a/k.pem"), b"secret").unwrap();
        assert_eq!(mode(&d.join("a/k.pem")), 0o600);
        std::fs::set_permissions(d.join("a/k.pem"), std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&d.join("a/k.pem"), b"again").unwrap();
        assert_eq!(mode(&d.join("a/k.pem")), 0o600, "an existing file is made owner-only");
        ensure_private_file(&d.join("a/hub.db")).unwrap();
        assert_eq!(mode(&d.join("a/hub.db")), 0o600);
        std::fs::remove_dir_all(d).unwrap();
    }
}
