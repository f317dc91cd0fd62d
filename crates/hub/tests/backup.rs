//! The restore drill: `renkei-hub backup` copies a running hub (SQLite, blobs on disk, CA) into
//! a new folder; a hub started from that folder serves every message of the backup, and
//! `renkei-hub verify` finds every file whole by SHA-256 — and names the ones that are not.

use crate::common::*;
use renkei_protocol::*;
use std::process::Command;

fn hub_command(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_renkei-hub")).args(args).env("RENKEI_DATA_DIR", dir).env("RENKEI_LOG", "warn").output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_a_running_hub_restores_whole() {
    let hub = Hub::start().await;
    if hub.running.state.store.backend_name() != "sqlite" {
        eprintln!("the backup command is for SQLite data directories; PostgreSQL uses pg_dump");
        hub.stop().await;
        return;
    }
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    let mut sent = Vec::new();
    for i in 0..6 {
        // Small files live with their rows, large ones in the blob folder: both are backed up.
        let size = if i % 2 == 0 { 2_000 } else { 200_000 };
        let body: Vec<u8> = (0..size).map(|j| b"0123456789abcdef"[(i * 7 + j) % 16]).collect();
        let r = send(&hub, &a, &ta, &to, &[(format!("控え{i}.txt"), body)], None).await;
        assert_eq!(r.status(), 201);
        let s: SendResponse = r.json().await.unwrap();
        sent.push((s.message.id.clone(), s.message.files[0].sha256.clone()));
    }

    // Backed up by the command, from another process, while the hub runs.
    let backup = std::env::temp_dir().join(format!("renkei-backup-{}", renkei_hub::auth::token()[..8].to_owned()));
    let out = hub_command(&hub.dir, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 blob files (3 new)"), "{}", String::from_utf8_lossy(&out.stdout));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for p in ["", "hub.db", "ca/ca.key"] {
            let mode = std::fs::metadata(backup.join(p)).unwrap().permissions().mode() & 0o077;
            assert_eq!(mode, 0, "{p} is owner-only");
        }
    }
    let again = hub_command(&hub.dir, &["backup", "--to", backup.to_str().unwrap()]);
    assert!(!again.status.success(), "a backup never overwrites a database");
    // The original stops; its folder stays only for the demo terminals' certificates (on a real
    // PC they are the office's, not the hub's).
    let Hub { running, dir: original, offices, .. } = hub;
    running.shutdown(std::time::Duration::from_secs(5)).await.unwrap();

    // Restored: the backup folder is a data directory.
    let out = hub_command(&backup, &["verify"]);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("6 files checked: 0 missing, 0 damaged"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let config = renkei_hub::Config {
        listen: "127.0.0.1:0".into(),
        metrics_listen: String::new(),
        data_dir: backup.clone(),
        ..renkei_hub::Config::default()
    };
    let running = renkei_hub::start(config.clone()).await.unwrap();
    let restored = Hub { running, dir: backup.clone(), offices, config, pg: None };
    let (b, tb) = restored.session(1).await;
    for (id, sha) in &sent {
        let r = b.get(restored.url(&format!("/v1/messages/{id}/files/0"))).bearer_auth(&tb).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(&renkei_hub::auth::sha256_hex(&r.bytes().await.unwrap()), sha, "message {id} restored whole");
    }

    // A damaged or missing blob is named by the check.
    let (store, blobs) = (&restored.running.state.store, &restored.running.state.blobs);
    let large: Vec<&(String, String)> = sent.iter().skip(1).step_by(2).collect();
    let path = |sha: &str| backup.join("blobs").join(&sha[..2]).join(&sha[2..4]).join(sha);
    std::fs::write(path(&large[0].1), b"damaged").unwrap();
    std::fs::remove_file(path(&large[1].1)).unwrap();
    let r = renkei_hub::service::backup::check_files(store, blobs).await.unwrap();
    assert_eq!(r.files, 6);
    assert_eq!(r.mismatched, vec![format!("{}/0", large[0].0)]);
    assert_eq!(r.missing, vec![format!("{}/0", large[1].0)]);
    restored.stop().await;
    let _ = std::fs::remove_dir_all(original);
}
