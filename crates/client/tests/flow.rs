//! The client against a real hub in this process: re-runs after a network failure, the watch
//! folder (with ZIPs), live events with notifications and automatic fetching.

use crate::common::*;
use renkei_client::hub::HubClient;
use renkei_client::outgoing::{self, Outcome};
use renkei_client::watch::{ERROR_DIR, REASON_SUFFIX, SENT_DIR};
use renkei_protocol::{DeliveryState, InboxQuery};
use renkei_testkit::hub::TestHub;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// A TCP proxy in front of the hub. While `cut` is set, the first bytes the hub sends back on a
/// connection are thrown away and the connection is closed: the request arrived and was
/// processed, the answer never came (what a dropped mobile or office line looks like).
async fn proxy(upstream: std::net::SocketAddr, cut: Arc<AtomicBool>) -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((down, _)) = l.accept().await {
            let cut = cut.clone();
            tokio::spawn(async move {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else { return };
                let (mut dr, mut dw) = down.into_split();
                let (mut ur, mut uw) = up.into_split();
                let a = tokio::spawn(async move {
                    let mut b = vec![0u8; 65536];
                    while let Ok(n) = dr.read(&mut b).await {
                        if n == 0 || uw.write_all(&b[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut b = vec![0u8; 65536];
                while let Ok(n) = ur.read(&mut b).await {
                    if n == 0 || cut.load(Ordering::SeqCst) || dw.write_all(&b[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = dw.shutdown().await;
                a.abort();
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_rerun_after_a_network_failure_sends_nothing_twice() {
    let hub = TestHub::start().await;
    let home = tempdir("rerun");
    let care = enrol(&hub, &home, 0).await;
    let provider = enrol(&hub, &tempdir("rerun-b"), 1).await;
    // The care office's PC reaches the hub through a line that will drop.
    let cut = Arc::new(AtomicBool::new(false));
    let via = proxy(hub.running.addr, cut.clone()).await;
    let mut p = profile_of(&care);
    p.settings.hub = format!("https://localhost:{}", via.port());
    // No resending within the call: this is about the clerk's re-run.
    let c = HubClient::for_profile(&p).unwrap().with_retry_budget(Duration::ZERO);
    assert!(c.has_token(), "the saved session is used");
    let files = slip_unit(&hub, 1, 0, 1, seq(25, 10));
    let dir = tempdir("rerun-files");
    write_files(&dir, &files);
    let (cands, bad) = outgoing::collect(std::slice::from_ref(&dir));
    let plan = outgoing::plan(&p.settings.office, None, cands, bad, &[p.settings.office.as_str()]);
    assert_eq!(plan.groups.len(), 1);
    let g = &plan.groups[0];

    // The line works at first (the connection is open), then drops while the send is on its way.
    c.inbox(&InboxQuery::default()).await.unwrap();
    cut.store(true, Ordering::SeqCst);
    let first = outgoing::send_one(&c, &care.state, &p.settings.office, &g.to, "", outgoing::group_files(&plan, g), false).await.unwrap();
    assert!(matches!(first, Outcome::Failed { retry: true, .. }), "{first:?}");
    cut.store(false, Ordering::SeqCst);
    // The hub did store it: the answer was lost.
    let inbox = provider.client().await.all(false, InboxQuery::default()).await.unwrap();
    assert_eq!(inbox.len(), 1);

    // The clerk runs the same send again.
    let again = outgoing::send_one(&c, &care.state, &p.settings.office, &g.to, "", outgoing::group_files(&plan, g), false).await.unwrap();
    assert_eq!(again, Outcome::AlreadySent { id: inbox[0].id.clone() });
    // And once more: the journal answers without asking the hub.
    assert!(
        care.state
            .sent(&outgoing::idempotency_key(&p.settings.office, &g.to, &"".into(), &outgoing::group_files(&plan, g)))
            .await
            .unwrap()
            .is_some()
    );
    let third = outgoing::send_one(&c, &care.state, &p.settings.office, &g.to, "", outgoing::group_files(&plan, g), false).await.unwrap();
    assert_eq!(third, Outcome::AlreadySent { id: inbox[0].id.clone() });
    assert_eq!(provider.client().await.all(false, InboxQuery::default()).await.unwrap().len(), 1, "nothing was sent twice");
    // A deliberate resend makes a second copy.
    let fourth = outgoing::send_one(&c, &care.state, &p.settings.office, &g.to, "", outgoing::group_files(&plan, g), true).await.unwrap();
    assert!(matches!(fourth, Outcome::Sent { .. }));
    assert_eq!(provider.client().await.all(false, InboxQuery::default()).await.unwrap().len(), 2);
    hub.stop().await;
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_is_resent_by_the_client_itself_once() {
    let hub = TestHub::start().await;
    let care = enrol(&hub, &tempdir("resend"), 0).await;
    let provider = enrol(&hub, &tempdir("resend-b"), 1).await;
    let cut = Arc::new(AtomicBool::new(false));
    let via = proxy(hub.running.addr, cut.clone()).await;
    let mut p = profile_of(&care);
    p.settings.hub = format!("https://localhost:{}", via.port());
    let c = HubClient::for_profile(&p).unwrap();
    c.inbox(&InboxQuery::default()).await.unwrap();
    // The line drops the first answer, then works again while the client waits to resend.
    cut.store(true, Ordering::SeqCst);
    let heal = cut.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        heal.store(false, Ordering::SeqCst);
    });
    let files: Vec<renkei_client::hub::OutFile> =
        slip_unit(&hub, 2, 0, 1, seq(25, 11)).into_iter().map(|f| renkei_client::hub::OutFile { name: f.name, bytes: f.bytes }).collect();
    let r = c.send(&hub.offices[1].number, &"".into(), &files, "resend-key-1").await.expect("sent after a resend");
    let inbox = provider.client().await.all(false, InboxQuery::default()).await.unwrap();
    assert_eq!(inbox.len(), 1, "the resend made no second message");
    assert_eq!(inbox[0].id, r.message.id);
    assert!(r.replayed, "the answer came from the resend, as a replay of the first");
    hub.stop().await;
}

#[tokio::test]
async fn a_busy_hub_is_waited_for_as_it_says_and_then_answers() {
    let hub = TestHub::start_with(|c| {
        c.limits.max_requests_in_flight = 2;
        c.limits.admission_wait_ms = 50;
    })
    .await;
    let care = enrol(&hub, &tempdir("busy"), 0).await;
    let c = care.client().await;
    // Every place is taken for a while, as by a crowd of other offices.
    let held = vec![hub.running.state.admission.admit().await.unwrap(), hub.running.state.admission.admit().await.unwrap()];
    // Without waiting, the clerk is told at once that the hub is busy, and that it is worth a retry.
    let e = c.clone().with_retry_budget(Duration::ZERO).inbox(&InboxQuery::default()).await.expect_err("busy");
    assert_eq!(e.code(), Some(renkei_protocol::ErrorCode::Busy));
    assert!(e.is_transient(), "{e}");
    assert!(e.to_string().contains("混み合って"), "{e}");
    // With the usual budget the call waits as the hub says (Retry-After: 1) and then gets its answer.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(held);
    });
    let t = std::time::Instant::now();
    c.inbox(&InboxQuery::default()).await.expect("answered once a place freed");
    assert!(t.elapsed() >= Duration::from_millis(900), "waited as Retry-After said: {:?}", t.elapsed());
    hub.stop().await;
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, b) in entries {
        w.start_file(*n, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn wait_for<F: AsyncFnMut() -> bool>(what: &str, mut f: F) {
    for _ in 0..150 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn the_watch_folder_sends_valid_units_and_explains_what_it_refuses() {
    let hub = TestHub::start().await;
    let care = enrol(&hub, &tempdir("watch"), 0).await;
    let provider = enrol(&hub, &tempdir("watch-b"), 1).await;
    let export = tempdir("export");
    {
        let mut p = care.profile.write().await;
        p.settings.export_dir = Some(export.clone());
        p.settings.watch = true;
        p.settings.auto_send = true;
        p.settings.stable_seconds = 1;
        p.save().unwrap();
    }
    tokio::spawn(care.clone().watch_loop());
    // The care software writes: one unit as files, one unit inside a ZIP (in a sub-folder of
    // the archive), a unit with a broken 第6表, and a ZIP that tries to escape the folder.
    let good = slip_unit(&hub, 2, 0, 1, seq(25, 10));
    write_files(&export, &good);
    let zipped = slip_unit(&hub, 3, 0, 1, seq(25, 11));
    let entries: Vec<(String, Vec<u8>)> = zipped.iter().map(|f| (format!("利用票/{}", f.name), f.bytes.clone())).collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    std::fs::write(export.join("提供票.zip"), zip_of(&refs)).unwrap();
    let broken = slip_unit(&hub, 4, 0, 1, seq(25, 12));
    for f in &broken {
        let bytes = if f.name.starts_with("UPPLAN") {
            renkei_testkit::edit_records(&f.bytes, |_, r| r[14].0 = "ABC".into())
        } else {
            f.bytes.clone()
        };
        std::fs::write(export.join(&f.name), bytes).unwrap();
    }
    std::fs::write(export.join("evil.zip"), zip_of(&[("../../etc/cron.d/x", b"boom")])).unwrap();

    let pc = provider.client().await;
    wait_for("the partner receives the good units", async || !pc.all(false, InboxQuery::default()).await.unwrap().is_empty()).await;
    let inbox = pc.all(false, InboxQuery::default()).await.unwrap();
    assert_eq!(inbox.len(), 1, "one message per destination");
    let mut names: Vec<String> = inbox[0].files.iter().map(|f| f.name.clone()).collect();
    names.sort();
    let mut want: Vec<String> = good.iter().chain(&zipped).map(|f| f.name.clone()).collect();
    want.sort();
    assert_eq!(names, want, "both units, the ZIP's entries under their own names");
    wait_for("files moved", async || !export.join("提供票.zip").exists()).await;
    let day_dirs: Vec<_> = std::fs::read_dir(export.join(SENT_DIR)).unwrap().flatten().collect();
    assert_eq!(day_dirs.len(), 1);
    let sent_files: Vec<String> =
        std::fs::read_dir(day_dirs[0].path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(sent_files.contains(&"提供票.zip".to_owned()) && sent_files.len() == 4, "{sent_files:?}");
    // Refused: each file of the broken unit and the ZIP, each with a Japanese reason beside it.
    let err = export.join(ERROR_DIR);
    let plan_name = broken.iter().find(|f| f.name.starts_with("UPPLAN")).unwrap().name.clone();
    let reason = std::fs::read_to_string(err.join(format!("{plan_name}{REASON_SUFFIX}"))).unwrap();
    assert!(reason.contains("サービスコード") && reason.contains("行目"), "{reason}");
    let sibling = broken.iter().find(|f| f.name.starts_with("UPSIKYU")).unwrap().name.clone();
    let reason = std::fs::read_to_string(err.join(format!("{sibling}{REASON_SUFFIX}"))).unwrap();
    assert!(reason.contains("同じ送信単位"), "{reason}");
    let reason = std::fs::read_to_string(err.join(format!("evil.zip{REASON_SUFFIX}"))).unwrap();
    assert!(reason.contains("フォルダーの外"), "{reason}");
    assert!(!std::path::Path::new("/etc/cron.d/x").exists());
    // Only what was refused is left in the error folder, nothing is left in the export folder.
    let left: Vec<_> = std::fs::read_dir(&export).unwrap().flatten().filter(|e| e.path().is_file()).collect();
    assert!(left.is_empty(), "{left:?}");
    // The notifications say what happened.
    let notes = care.state.notifications(false, 20).await.unwrap();
    assert!(notes.iter().any(|n| n.title == "自動送信しました"), "{notes:?}");
    assert!(notes.iter().any(|n| n.title == "送信できないファイルがあります"));
    hub.stop().await;
}

#[tokio::test]
async fn events_notify_run_the_hook_and_fetch_automatically() {
    let hub = TestHub::start().await;
    let care = enrol(&hub, &tempdir("ev"), 0).await;
    let provider = enrol(&hub, &tempdir("ev-b"), 1).await;
    let import = tempdir("import");
    let hook_out = tempdir("hook").join("events.txt");
    {
        let mut p = provider.profile.write().await;
        p.settings.import_dir = Some(import.clone());
        p.settings.auto_fetch = true;
        p.settings.split_by_kind = true;
        p.settings.notify_command = Some(format!("echo \"$RENKEI_EVENT $RENKEI_OFFICE $RENKEI_TITLE\" >> '{}'", hook_out.display()));
        p.save().unwrap();
    }
    // Reopen with the new settings (the hook is read at start).
    let provider = renkei_client::daemon::OfficeRt::open(profile_of(&provider)).await.unwrap();
    tokio::spawn(provider.clone().event_loop());
    tokio::spawn(care.clone().event_loop());
    wait_for("event streams", async || provider.live.load(Ordering::Relaxed) && care.live.load(Ordering::Relaxed)).await;

    let files = slip_unit(&hub, 5, 0, 1, seq(26, 9));
    let cp = profile_of(&care);
    let out: Vec<_> = files.iter().map(|f| renkei_client::hub::OutFile { name: f.name.clone(), bytes: f.bytes.clone() }).collect();
    let sent =
        outgoing::send_one(&care.client().await, &care.state, &cp.settings.office, &hub.offices[1].number, "", out, false).await.unwrap();
    let Outcome::Sent { id } = sent else { panic!("{sent:?}") };

    // The provider is told, its hook runs, the files land in the import folder (sub-folder = the
    // receiver's service kind 15), and the care office learns that the partner fetched.
    wait_for("auto fetch", async || import.join("15").read_dir().is_ok_and(|d| d.count() == 3)).await;
    for f in &files {
        assert_eq!(std::fs::read(import.join("15").join(&f.name)).unwrap(), f.bytes);
    }
    let hook = std::fs::read_to_string(&hook_out).unwrap();
    assert!(hook.contains("new_message 1372000024 新着メッセージがあります"), "{hook}");
    wait_for("receipt", async || care.state.notifications(false, 10).await.unwrap().iter().any(|n| n.kind == "receipt")).await;
    // The receipt names the partner and the message as people know them, not by number and id.
    let receipt = care.state.notifications(false, 10).await.unwrap().into_iter().find(|n| n.kind == "receipt").unwrap();
    assert_eq!(receipt.title, "ひまわりデイサービス（1372000024）がデータを取得しました", "{receipt:?}");
    assert!(receipt.body.contains(&files[0].name) && receipt.body.contains("ほか 2 件") && !receipt.body.contains(&id), "{receipt:?}");
    let m = care.client().await.message(&id).await.unwrap();
    assert_eq!(m.state, DeliveryState::Fetched);
    let notes = provider.state.notifications(true, 10).await.unwrap();
    assert!(notes.iter().any(|n| n.title == "新着メッセージがあります" && n.body.contains("さくら居宅介護支援事業所")), "{notes:?}");
    hub.stop().await;
}

#[tokio::test]
async fn a_revoked_terminal_is_refused_and_told_so() {
    let hub = TestHub::start().await;
    let care = enrol(&hub, &tempdir("rev"), 0).await;
    let p = profile_of(&care);
    hub.revoke(&p.settings.terminal_id).await;
    // On the connection that was already open, the hub refuses with a plain reason…
    let e = care.client().await.inbox(&InboxQuery::default()).await.unwrap_err();
    assert!(e.to_string().contains("失効"), "{e}");
    // …and a new connection fails at the TLS handshake.
    let e = HubClient::for_profile(&p).unwrap().inbox(&InboxQuery::default()).await.unwrap_err();
    assert!(matches!(e, renkei_client::hub::HubError::Network(_)), "the handshake fails: {e:?}");
    assert!(e.to_string().contains("接続できません"), "{e}");
    hub.stop().await;
}

async fn renkei(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    renkei_with(home, args, Some(renkei_testkit::hub::DEMO_PASSWORD)).await
}

/// `renkei` with the password in `RENKEI_PASSWORD`, or (`None`) with no way to give one.
async fn renkei_with(home: &std::path::Path, args: &[&str], password: Option<&str>) -> (i32, String, String) {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_renkei"));
    c.args(args).env("RENKEI_HOME", home).env_remove("RENKEI_PROFILE").env_remove("RENKEI_PASSWORD").stdin(std::process::Stdio::null());
    if let Some(p) = password {
        c.env("RENKEI_PASSWORD", p);
    }
    let o = c.output().await.unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// The README's command-line path: set up two PCs with enrolment codes (checking the CA
/// fingerprint), send a folder, fetch it on the other side, see 取得済.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_from_set_up_to_a_fetched_file() {
    let hub = TestHub::start().await;
    let (pc1, pc2) = (tempdir("cli1"), tempdir("cli2"));
    let fp = hub.ca_fingerprint();
    let url = hub.url();
    let o = &hub.offices;
    // A wrong fingerprint stops set-up before anything is sent or stored.
    let code = hub.enrolment_code(&o[0].number).await;
    // A mistyped code (one digit off) is caught before the password is asked (none is given
    // here: asking would fail differently) and before the hub is contacted.
    let mut typo: Vec<char> = code.chars().collect();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == '9' { '0' } else { char::from(typo[last] as u8 + 1) };
    let typo: String = typo.into_iter().collect();
    let (rc, _, err) = renkei_with(
        &pc1,
        &["setup", "--hub", "https://127.0.0.1:1", "--office", &o[0].number, "--login", &o[0].admin, "--code", &typo],
        None,
    )
    .await;
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("打ち間違い") && !err.contains("パスワード"), "{err}");
    let (rc, _, err) = renkei(
        &pc1,
        &["setup", "--hub", &url, "--office", &o[0].number, "--login", &o[0].admin, "--code", &code, "--ca-fingerprint", "AAAA-A"],
    )
    .await;
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("指紋が一致しません"), "{err}");
    assert!(std::fs::read_dir(&pc1).unwrap().next().is_none(), "nothing stored");
    let (rc, out, err) =
        renkei(&pc1, &["setup", "--hub", &url, "--office", &o[0].number, "--login", &o[0].admin, "--code", &code, "--ca-fingerprint", &fp])
            .await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("指紋は一致しました") && out.contains("さくら居宅介護支援事業所"), "{out}");
    // The code was used up.
    let (rc, _, err) =
        renkei(&pc2, &["setup", "--hub", &url, "--office", &o[0].number, "--login", &o[0].admin, "--code", &code, "--yes"]).await;
    assert_eq!(rc, 2);
    assert!(err.contains("端末登録コード"), "{err}");
    let code = hub.enrolment_code(&o[1].number).await;
    let (rc, out, err) =
        renkei(&pc2, &["setup", "--hub", &url, "--office", &o[1].number, "--login", &o[1].admin, "--code", &code, "--yes"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = pc2.join(&o[1].number).join("terminal.key");
        assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o600, "the private key is the owner's only");
    }

    // After set-up the PC is logged in: no command asks for the password again.
    let (rc, out, err) = renkei_with(&pc1, &["inbox"], None).await;
    assert_eq!(rc, 0, "the session of set-up is kept: {out}{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let session = pc1.join(&o[0].number).join("session.json");
        assert_eq!(std::fs::metadata(session).unwrap().permissions().mode() & 0o777, 0o600, "the session is the owner's only");
    }
    // A path that does not exist: nothing to send, could not run (2), and it says which.
    let (rc, _, err) = renkei(&pc1, &["send", "/nonexistent/renkei"]).await;
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("/nonexistent/renkei") && err.contains("送信するファイルがありません"), "{err}");

    let export = tempdir("cli-export");
    let files = slip_unit(&hub, 21, 0, 1, seq(27, 9));
    write_files(&export, &files);
    let (rc, out, err) = renkei(&pc1, &["send", export.to_str().unwrap()]).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("送信しました: 1372000024 へ 3 ファイル"), "{out}");
    let (rc, out, _) = renkei(&pc1, &["send", export.to_str().unwrap()]).await;
    assert_eq!(rc, 0);
    assert!(out.contains("送信済みです"), "{out}");

    // 受信一覧 on the terminal: a header, the sender by name, the files.
    let (rc, out, _) = renkei(&pc2, &["inbox"]).await;
    assert_eq!(rc, 0);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("ID\t受信日時\t送信元\t状況\tファイル\tメッセージ"), "{out}");
    let row = lines.next().unwrap();
    assert!(row.contains("\tさくら居宅介護支援事業所（1371000017）\t未取得\t") && row.contains(&files[0].name), "{out}");
    let got = tempdir("cli-got");
    let (rc, out, err) = renkei(&pc2, &["fetch", "--dir", got.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["saved"].as_array().unwrap().len(), 3);
    for f in &files {
        assert_eq!(std::fs::read(got.join(&f.name)).unwrap(), f.bytes);
    }
    let (_, out, _) = renkei(&pc1, &["sent", "--format", "json"]).await;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["state"], "fetched", "{out}");
    // The same unit a second time (a deliberate resend): 一括取得 says what is on disk, not what
    // was downloaded (the same files are saved once).
    write_files(&export, &files);
    let (rc, out, err) = renkei(&pc1, &["send", "--resend", export.to_str().unwrap()]).await;
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = renkei(&pc1, &["send", "--resend", export.to_str().unwrap()]).await;
    assert_eq!(rc, 0, "{out}{err}");
    let twice = tempdir("cli-twice");
    let (rc, out, err) = renkei(&pc2, &["fetch", "--dir", twice.to_str().unwrap()]).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("2 件のメッセージを取得し、3 ファイルを") && out.contains("同じ内容のファイル 3 件は一つにまとめました"), "{out}");
    assert_eq!(std::fs::read_dir(&twice).unwrap().count(), 3);

    // A contact without files: a missing field is a usage error named by its field (2), nothing
    // is sent; a whole one is sent once, and 受信一覧 shows it as メッセージのみ with its line.
    let to = o[1].number.as_str();
    let (rc, _, err) = renkei(&pc1, &["contact", "--to", to, "--kind", "no_use", "--person", "H000000001"]).await;
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("対象年月"), "{err}");
    let (rc, _, err) = renkei(&pc1, &["contact", "--to", "12345", "--kind", "plan_change", "--person", "H000000001"]).await;
    assert_eq!(rc, 2, "{err}");
    let args = ["contact", "--to", to, "--kind", "no_use", "--month", "202507", "--person", "H000000001"];
    let (rc, out, err) = renkei(&pc1, &args).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains("送信しました") && out.contains("今月利用なし 2025年7月分 H000000001"), "{out}");
    let (rc, out, _) = renkei(&pc1, &args).await;
    assert_eq!(rc, 0);
    assert!(out.contains("送信済みです"), "{out}");
    let (rc, out, _) = renkei(&pc2, &["inbox", "--new"]).await;
    assert_eq!(rc, 0);
    let row = out.lines().nth(1).unwrap_or_default();
    assert!(row.contains("（メッセージのみ）") && row.contains("今月利用なし 2025年7月分 H000000001"), "{out}");

    // Every other command's documented exit status (0 done, 1 done with findings or refusals,
    // 2 could not run): each one tried here.
    let o1 = o[1].number.as_str();
    let cases: Vec<(Vec<&str>, Option<&str>, i32)> = vec![
        (vec!["profiles"], None, 0),
        (vec!["config"], None, 0),
        (vec!["config", "--set", "no_such_key=1"], None, 2),
        (vec!["login"], Some("wrong-password"), 2),
        (vec!["login"], Some(renkei_testkit::hub::DEMO_PASSWORD), 0),
        (vec!["drafts"], None, 0),
        (vec!["drafts", "--send", "no-such-draft"], None, 2),
        (vec!["sent", "--format", "json"], None, 0),
        (vec!["enrolment-code"], None, 0),
        // No plan sent to this partner for the month: nothing to compare, could not run.
        (vec!["reconcile", "--month", "202506", "--partner", o1], None, 2),
        (vec!["rules"], None, 0),
        (vec!["layout", "UPPLAN"], None, 0),
        (vec!["layout", "NOPE"], None, 2),
        (vec!["password"], None, 2),
        (vec!["logout"], None, 0),
        (vec!["--profile", "0000000000", "inbox"], None, 2),
    ];
    for (args, password, want) in cases {
        let (rc, out, err) = renkei_with(&pc2, &args, password).await;
        assert_eq!(rc, want, "renkei {}: {out}{err}", args.join(" "));
    }
    hub.stop().await;
}

/// `renkei autostart`: the daemon is registered to start at log-on (a systemd user unit here).
/// systemctl itself cannot run in a test (no user session); a PATH without it shows the clerk
/// the manual command, and a stand-in that records its arguments shows the commands issued.
#[tokio::test]
async fn autostart_registers_the_daemon_at_log_on() {
    let (home, config, bin) = (tempdir("as-home"), tempdir("as-config"), tempdir("as-bin"));
    let run = |args: &'static [&'static str], path: String| {
        let (home, config) = (home.clone(), config.clone());
        async move {
            let o = tokio::process::Command::new(env!("CARGO_BIN_EXE_renkei"))
                .args(args)
                .env("RENKEI_HOME", &home)
                .env("XDG_CONFIG_HOME", &config)
                .env("PATH", path)
                .output()
                .await
                .unwrap();
            (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned())
        }
    };
    let unit = config.join("systemd/user/renkei.service");
    let (rc, out) = run(&["autostart", "on"], String::new()).await;
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("書きました") && out.contains("systemctl --user enable --now renkei.service") && out.contains("手動で"), "{out}");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(text.contains(&format!("ExecStart={} daemon", env!("CARGO_BIN_EXE_renkei"))), "{text}");
    assert!(text.contains(&format!("RENKEI_HOME={}", home.display())), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&unit).unwrap().permissions().mode() & 0o777, 0o600);
        let log = bin.join("calls");
        std::fs::write(bin.join("systemctl"), format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display())).unwrap();
        std::fs::set_permissions(bin.join("systemctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (rc, out) = run(&["autostart", "on"], bin.display().to_string()).await;
        assert_eq!(rc, 0, "{out}");
        assert!(out.contains("登録しました"), "{out}");
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "--user daemon-reload\n--user enable --now renkei.service\n");
        let (rc, out) = run(&["autostart", "status"], String::new()).await;
        assert_eq!((rc, out.contains("登録済み")), (0, true), "{out}");
        let (rc, out) = run(&["autostart", "off"], bin.display().to_string()).await;
        assert_eq!(rc, 0, "{out}");
        assert!(!unit.exists());
        assert!(std::fs::read_to_string(&log).unwrap().ends_with("--user disable --now renkei.service\n--user daemon-reload\n"));
        let (_, out) = run(&["autostart", "status"], String::new()).await;
        assert!(out.contains("登録されていません"), "{out}");
    }
}

/// The session ends (here: ended at the hub from elsewhere): notifications stop, and the clerk
/// is told so on the desktop and the banner; the next login resolves it.
#[tokio::test]
async fn when_the_session_ends_the_clerk_is_told_notifications_stopped() {
    let hub = TestHub::start().await;
    let care = enrol(&hub, &tempdir("sess"), 0).await;
    let mut other = care.client().await;
    other.logout().await.unwrap();
    tokio::spawn(care.clone().event_loop());
    let stopped = async || care.state.notifications(true, 10).await.unwrap().iter().any(|n| n.kind == renkei_client::daemon::SESSION_ENDED);
    wait_for("the stopped notice", stopped).await;
    let n = care.state.notifications(true, 10).await.unwrap();
    let note = n.iter().find(|n| n.kind == renkei_client::daemon::SESSION_ENDED).unwrap();
    assert_eq!(note.title, "通知が止まっています（ログインが切れました）");
    assert!(note.body.contains("ログインしてください"), "{note:?}");
    assert_eq!(n.iter().filter(|n| n.kind == renkei_client::daemon::SESSION_ENDED).count(), 1, "said once, not every retry");
    assert!(care.session.read().await.is_none());
    // Logging in again: notifications flow (the stream is live) and the notice is resolved.
    care.login(&hub.offices[0].staff, renkei_testkit::hub::DEMO_PASSWORD).await.unwrap();
    wait_for("the stream again", async || care.live.load(Ordering::Relaxed)).await;
    assert!(!stopped().await, "resolved by the login");
    hub.stop().await;
}

/// Every request names this client's version; a hub that no longer accepts it says so, and the
/// PC is told to update (here already at set-up).
#[tokio::test]
async fn an_outdated_client_is_told_to_update() {
    let hub = TestHub::start_with(|c| c.clients.minimum_version = "99.0.0".into()).await;
    let home = tempdir("outdated");
    let code = hub.enrolment_code(&hub.offices[0].number).await;
    let o = &hub.offices[0];
    let (rc, out, err) =
        renkei(&home, &["setup", "--hub", &hub.url(), "--office", &o.number, "--login", &o.admin, "--code", &code, "--yes"]).await;
    assert_eq!(rc, 2, "{out}{err}");
    assert!(err.contains(&format!("バージョン {}", renkei_client::hub::VERSION)) && err.contains("99.0.0 以降に更新"), "{err}");
    hub.stop().await;
}

/// 代行 on the command line: an agent's PC (its own terminal and login) sends and fetches in an
/// office's name with `--for`; the recipient sees 「代行: …」; without a delegation, or outside
/// its scope, the hub's refusal is shown as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sends_and_fetches_for_an_office_with_for() {
    let hub = TestHub::start().await;
    let o = &hub.offices;
    let (agent_pc, office_pc) = (tempdir("cli-agent"), tempdir("cli-principal-partner"));
    set_up_pc(&hub, &agent_pc, 2).await;
    set_up_pc(&hub, &office_pc, 1).await;
    let export = tempdir("cli-agent-export");
    let files = slip_unit(&hub, 31, 0, 1, seq(27, 10));
    write_files(&export, &files);

    // Not yet an agent: refused, nothing sent.
    let (rc, out, err) = renkei(&agent_pc, &["--for", &o[0].number, "send", export.to_str().unwrap()]).await;
    assert_ne!(rc, 0, "{out}{err}");
    assert!(format!("{out}{err}").contains("代行業者として登録されていません"), "{out}{err}");
    let (rc, _, err) = renkei(&agent_pc, &["--for", "12345", "inbox"]).await;
    assert_eq!(rc, 2, "{err}");
    assert!(err.contains("10桁"), "{err}");

    hub.register_agent(&o[2].number).await;
    hub.delegate(&o[0].admin, &o[2].number, true, false, "").await;
    // The files name office 0 as their sender: with --for they are its to send.
    let (rc, out, err) = renkei(&agent_pc, &["--for", &o[0].number, "send", export.to_str().unwrap()]).await;
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains(&format!("送信しました: {} へ 3 ファイル", o[1].number)), "{out}");
    let (rc, out, _) = renkei(&office_pc, &["inbox"]).await;
    assert_eq!(rc, 0);
    assert!(out.contains(&format!("［代行: {}（{}）］", o[2].name, o[2].number)), "{out}");
    let (_, out, _) = renkei(&agent_pc, &["--for", &o[0].number, "sent"]).await;
    assert!(out.contains(&files[0].name), "the agent sees what it sent for the office: {out}");
    let (_, out, _) = renkei(&agent_pc, &["sent"]).await;
    assert!(!out.contains(&files[0].name), "its own office sent nothing: {out}");
    // Send only: the office's inbox stays closed.
    let (rc, out, err) = renkei(&agent_pc, &["--for", &o[0].number, "inbox"]).await;
    assert_ne!(rc, 0);
    assert!(format!("{out}{err}").contains("受信の代行を任されていません"), "{out}{err}");
    // Receiving delegated too: the agent fetches what the office received.
    hub.delegate(&o[1].admin, &o[2].number, false, true, "").await;
    let got = tempdir("cli-agent-got");
    let (rc, out, err) = renkei(&agent_pc, &["--for", &o[1].number, "fetch", "--dir", got.to_str().unwrap(), "--format", "json"]).await;
    assert_eq!(rc, 0, "{out}{err}");
    for f in &files {
        assert_eq!(std::fs::read(got.join(&f.name)).unwrap(), f.bytes);
    }
    hub.stop().await;
}
