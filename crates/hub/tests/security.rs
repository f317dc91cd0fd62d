use crate::common::*;
use renkei_hub::store::{NewUser, Office};
use renkei_protocol::*;

#[tokio::test]
async fn every_refusal_at_the_door_stores_nothing() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let b = hub.offices[1].number.clone();
    let c = hub.offices[2].number.clone();
    let unit = slip_unit(&hub, 0, 1, 3);
    let rename =
        |files: &[(String, Vec<u8>)], from: &str, to: &str| files.iter().map(|(n, b)| (n.replace(from, to), b.clone())).collect::<Vec<_>>();
    // An office registered without a license.
    hub.running
        .state
        .store
        .upsert_office(
            &Office { number: "1310100019".into(), name: "未契約".into(), kinds: vec!["15".into()], license_until: None },
            0,
            Default::default(),
        )
        .await
        .unwrap();

    type Files = Vec<(String, Vec<u8>)>;
    let cases: Vec<(&str, String, Files, ErrorCode)> = vec![
        ("not registered", "1370100016".into(), unit.clone(), ErrorCode::RecipientNotRegistered),
        ("no license", "1310100019".into(), unit.clone(), ErrorCode::RecipientNotRegistered),
        ("bad name", b.clone(), rename(&unit, "_202506_", "_202513_"), ErrorCode::FileNameInvalid),
        ("sender is not us", b.clone(), rename(&unit, &hub.offices[0].number, "1310100019"), ErrorCode::SenderMismatch),
        ("receiver is not the recipient", c.clone(), unit.clone(), ErrorCode::ReceiverMismatch),
        (
            "incomplete unit",
            b.clone(),
            unit.iter().filter(|(n, _)| !n.starts_with("UPSIKYU")).cloned().collect(),
            ErrorCode::SendUnitInvalid,
        ),
        ("word file", b.clone(), vec![("議事録.docx".into(), b"PK\x03\x04rest".to_vec())], ErrorCode::AttachmentRefused),
        (
            "excel renamed to pdf",
            b.clone(),
            vec![("請求.pdf".into(), b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1....".to_vec())],
            ErrorCode::AttachmentRefused,
        ),
        ("executable", b.clone(), vec![("setup.txt".into(), b"MZ\x90\x00".to_vec())], ErrorCode::AttachmentRefused),
    ];
    for (what, to, files, code) in cases {
        let e = error(send(&hub, &a, &ta, &to, &files, None).await).await;
        assert_eq!(e.code, code, "{what}: {e:?}");
        assert!(!e.message.is_empty());
        if code == ErrorCode::RecipientNotRegistered {
            assert_eq!(e.message, "入力された番号はケアプランデータ連携システムに対応していません");
        }
    }
    // Neither a file nor a text: nothing to send.
    let empty = a.post(hub.url(paths::MESSAGES)).bearer_auth(&ta).multipart(form(&b, " ", &[])).send().await.unwrap();
    assert_eq!(error(empty).await.code, ErrorCode::Empty);
    // A note over 2,000 characters is refused, never cut short; so is a file without a name.
    let long = a.post(hub.url(paths::MESSAGES)).bearer_auth(&ta).multipart(form(&b, &"あ".repeat(2001), &[])).send().await.unwrap();
    let e = error(long).await;
    assert!(e.code == ErrorCode::BadRequest && e.message.contains("2,000文字まで") && e.message.contains("2001文字"), "{e:?}");
    let nameless =
        reqwest::multipart::Form::new().text("to", b.clone()).part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec()));
    let e = error(a.post(hub.url(paths::MESSAGES)).bearer_auth(&ta).multipart(nameless).send().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::FileNameInvalid, "{e:?}");
    // The bad name says which token of which file.
    let e = error(send(&hub, &a, &ta, &b, &rename(&unit, "_202506_", "_202513_"), None).await).await;
    assert!(
        e.details
            .iter()
            .any(|d| d.item.as_deref() == Some("提供年月") && d.file.as_deref().is_some_and(|f| f.starts_with("UPPLAN_202513"))),
        "{e:?}"
    );
    // Too many files.
    let many: Vec<(String, Vec<u8>)> = (0..=hub.config.limits.max_files).map(|i| (format!("{i}.pdf"), b"%PDF-1.4".to_vec())).collect();
    assert_eq!(error(send(&hub, &a, &ta, &b, &many, None).await).await.code, ErrorCode::TooLarge);
    assert_eq!(hub.running.state.store.message_count().await.unwrap(), 0);
    // And a good send still works afterwards; so does a contact without files (a text alone).
    assert_eq!(send(&hub, &a, &ta, &b, &unit, None).await.status(), 201);
    let contact = a
        .post(hub.url(paths::MESSAGES))
        .bearer_auth(&ta)
        .multipart(form(&b, "【今月利用なし】 2025年7月分 H000000001 山田様", &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), 201, "a contact without files is a message");
    hub.stop().await;
}

#[tokio::test]
async fn an_office_never_reads_another_offices_mail() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let (c, tc) = hub.session(2).await;
    let files = slip_unit(&hub, 0, 1, 4);
    let sent: SendResponse = send(&hub, &a, &ta, &hub.offices[1].number.clone(), &files, None).await.json().await.unwrap();
    let id = sent.message.id;

    // Office C with its own certificate and session.
    for path in [format!("/v1/messages/{id}"), format!("/v1/messages/{id}/files/0")] {
        assert_eq!(error(c.get(hub.url(&path)).bearer_auth(&tc).send().await.unwrap()).await.code, ErrorCode::NotFound, "{path}");
    }
    for path in [format!("/v1/messages/{id}/fetch"), format!("/v1/messages/{id}/open")] {
        assert_eq!(error(c.post(hub.url(&path)).bearer_auth(&tc).send().await.unwrap()).await.code, ErrorCode::NotFound, "{path}");
    }
    for path in [paths::INBOX, paths::SENT] {
        let p: MessagePage = c.get(hub.url(path)).bearer_auth(&tc).send().await.unwrap().json().await.unwrap();
        assert!(p.messages.is_empty(), "{path}");
    }
    // The sender cannot acknowledge its own message.
    assert_eq!(
        error(a.post(hub.url(&format!("/v1/messages/{id}/fetch"))).bearer_auth(&ta).send().await.unwrap()).await.code,
        ErrorCode::Forbidden
    );
    // B's session on C's terminal (and A's on B's) is refused: sessions are bound to terminals.
    assert_eq!(error(c.get(hub.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap()).await.code, ErrorCode::SessionRequired);
    assert_eq!(error(b.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap()).await.code, ErrorCode::SessionRequired);
    // Logging in with B's user on C's terminal is refused.
    let r = c
        .post(hub.url(paths::SESSIONS))
        .json(&LoginRequest { login: hub.offices[1].admin.clone(), password: renkei_hub::dev::DEMO_PASSWORD.into() })
        .send()
        .await
        .unwrap();
    assert_eq!(error(r).await.code, ErrorCode::Forbidden);
    // No certificate: only enrolment is served.
    let anon = hub.anonymous();
    for path in [paths::INBOX.to_owned(), paths::SENT.to_owned(), format!("/v1/messages/{id}")] {
        assert_eq!(error(anon.get(hub.url(&path)).bearer_auth(&tb).send().await.unwrap()).await.code, ErrorCode::CertificateRequired);
    }
    assert_eq!(
        error(
            anon.post(hub.url(paths::SESSIONS))
                .json(&LoginRequest { login: hub.offices[1].admin.clone(), password: "x".into() })
                .send()
                .await
                .unwrap()
        )
        .await
        .code,
        ErrorCode::CertificateRequired
    );
    hub.stop().await;
}

#[tokio::test]
async fn revoked_certificate_is_refused_at_the_handshake_without_restart() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    assert_eq!(a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().status(), 200);
    assert!(renkei_hub::service::terminals::revoke(&hub.running.state, renkei_hub::service::Actor::Admin, None, "Tdemo1").await.unwrap());
    // A new connection with the revoked certificate fails the TLS handshake.
    let fresh = hub.terminal(0);
    let err = fresh.get(hub.url("/healthz")).send().await.expect_err("handshake must fail");
    let chain = format!("{err:?}");
    assert!(chain.contains("Revoked") || chain.contains("revoked") || chain.contains("alert"), "{chain}");
    // A connection opened before the revocation can no longer act either.
    assert_eq!(error(a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap()).await.code, ErrorCode::TerminalUnknown);
    // Other offices are unaffected.
    let (b, tb) = hub.session(1).await;
    assert_eq!(b.get(hub.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn three_failures_lock_the_login() {
    let hub = Hub::start().await;
    let a = hub.terminal(0);
    let login = hub.offices[0].staff.clone();
    let try_login =
        |l: String, pw: &'static str| a.post(hub.url(paths::SESSIONS)).json(&LoginRequest { login: l, password: pw.into() }).send();
    let answer = "ログインIDまたはパスワードが違います（3回続けて間違えると、そのIDは30分間ログインできなくなります）";
    for pw in ["wrong1", "wrong2", "wrong3"] {
        let e = error(try_login(login.clone(), pw).await.unwrap()).await;
        assert_eq!((e.code, e.message.as_str()), (ErrorCode::BadCredentials, answer));
    }
    // Locked: even the right password is refused, with the same answer as a wrong one, and an
    // unknown ID gets that answer too: nobody learns which IDs exist or are locked.
    let locked = error(try_login(login.clone(), renkei_hub::dev::DEMO_PASSWORD).await.unwrap()).await;
    let unknown = error(try_login("KJ999999999999".into(), "x").await.unwrap()).await;
    assert_eq!((locked.code, locked.message.as_str()), (ErrorCode::BadCredentials, answer));
    assert_eq!((unknown.code, unknown.message.as_str()), (ErrorCode::BadCredentials, answer));
    let u = hub.running.state.store.user_by_login(&login).await.unwrap().unwrap();
    assert_eq!(u.failures, 3, "attempts while locked do not count");
    hub.stop().await;
}

#[tokio::test]
async fn failures_without_a_certificate_never_lock_the_offices_terminals() {
    let hub = Hub::start_with(|c| c.auth.logins_per_minute_per_ip = 0).await;
    let admin = hub.offices[0].admin.clone();
    // Anyone on the internet can try the portal (no certificate) and the enrolment door.
    let anon = hub.anonymous();
    for _ in 0..3 {
        let r = anon.post(hub.url("/portal/login")).form(&[("login", admin.as_str()), ("password", "guessing1")]).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let enrol =
        EnrolRequest { login: admin.clone(), password: "guessing2".into(), code: "x".into(), csr_pem: String::new(), label: String::new() };
    assert_eq!(error(anon.post(hub.url(paths::ENROL)).json(&enrol).send().await.unwrap()).await.code, ErrorCode::BadCredentials);
    // The portal is locked for this ID now …
    let r = anon
        .post(hub.url("/portal/login"))
        .form(&[("login", admin.as_str()), ("password", renkei_hub::dev::DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("ログインIDまたはパスワードが違います"), "the portal door is locked");
    // … but the office's enrolled terminal still logs in.
    let (c, t) = hub.session(0).await;
    assert_eq!(c.get(hub.url(paths::INBOX)).bearer_auth(&t).send().await.unwrap().status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn a_temporary_password_must_be_changed_first() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let temp = renkei_hub::auth::temporary_password();
    let hash = renkei_hub::auth::hash_password(&temp).unwrap();
    st.store
        .add_user(
            &NewUser {
                login: "KJnew",
                office: &hub.offices[0].number,
                role: renkei_hub::store::Role::Staff,
                name: "新人",
                password_hash: &hash,
                must_change: true,
            },
            0,
            Default::default(),
        )
        .await
        .unwrap();
    let a = hub.terminal(0);
    let r: LoginResponse = a
        .post(hub.url(paths::SESSIONS))
        .json(&LoginRequest { login: "KJnew".into(), password: temp.clone() })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r.must_change_password);
    assert_eq!(
        error(a.get(hub.url(paths::INBOX)).bearer_auth(&r.token).send().await.unwrap()).await.code,
        ErrorCode::PasswordChangeRequired
    );
    let weak = a
        .post(hub.url(paths::PASSWORD))
        .bearer_auth(&r.token)
        .json(&PasswordChange { current: temp.clone(), new: "password".into() })
        .send()
        .await
        .unwrap();
    assert_eq!(error(weak).await.code, ErrorCode::PasswordPolicy);
    let ok = a
        .post(hub.url(paths::PASSWORD))
        .bearer_auth(&r.token)
        .json(&PasswordChange { current: temp, new: "kaigo2025ok".into() })
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    assert_eq!(a.get(hub.url(paths::INBOX)).bearer_auth(&r.token).send().await.unwrap().status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn size_limits_are_configurable_and_refuse_before_storing() {
    let hub = Hub::start_with(|c| {
        c.limits.max_file_bytes = 64 * 1024;
        c.limits.max_message_bytes = 100 * 1024;
        c.limits.max_files = 5;
    })
    .await;
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    let big = vec![("大きい.pdf".to_owned(), [b"%PDF-1.4\n".as_slice(), &vec![b'x'; 70 * 1024]].concat())];
    let e = error(send(&hub, &a, &ta, &to, &big, None).await).await;
    assert_eq!(e.code, ErrorCode::TooLarge);
    assert!(e.message.contains("大きすぎます"), "{}", e.message);
    let two: Vec<_> = (0..2).map(|i| (format!("{i}.pdf"), [b"%PDF-1.4\n".as_slice(), &vec![b'x'; 60 * 1024]].concat())).collect();
    let e = error(send(&hub, &a, &ta, &to, &two, None).await).await;
    assert_eq!(e.code, ErrorCode::TooLarge);
    assert!(e.message.contains("合計"), "{}", e.message);
    let six: Vec<_> = (0..6).map(|i| (format!("{i}.pdf"), b"%PDF-1.4".to_vec())).collect();
    assert_eq!(error(send(&hub, &a, &ta, &to, &six, None).await).await.code, ErrorCode::TooLarge);
    assert_eq!(hub.running.state.store.message_count().await.unwrap(), 0);
    hub.stop().await;
}

#[tokio::test]
async fn another_office_cannot_touch_a_draft() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (c, tc) = hub.session(2).await;
    let files = vec![("案.pdf".to_owned(), b"%PDF-1.4".to_vec())];
    let d: DraftInfo = a
        .post(hub.url(paths::DRAFTS))
        .bearer_auth(&ta)
        .multipart(form(&hub.offices[1].number, "", &files))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = d.id.clone();
    let tries = [
        c.get(hub.url(&format!("/v1/drafts/{id}"))),
        c.patch(hub.url(&format!("/v1/drafts/{id}"))).json(&DraftUpdate {
            version: d.version,
            to: None,
            note: Some("x".into()),
            contact: None,
        }),
        c.post(hub.url(&format!("/v1/drafts/{id}/files"))).multipart(form("", "", &files)),
        c.delete(hub.url(&format!("/v1/drafts/{id}/files/0"))),
        c.post(hub.url(&format!("/v1/drafts/{id}/send"))),
        c.delete(hub.url(&format!("/v1/drafts/{id}"))),
    ];
    for t in tries {
        assert_eq!(error(t.bearer_auth(&tc).send().await.unwrap()).await.code, ErrorCode::NotFound);
    }
    // Untouched.
    let same: DraftInfo = a.get(hub.url(&format!("/v1/drafts/{id}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(same, d);
    // Without a certificate, or with A's session on C's certificate, nothing either.
    assert_eq!(
        error(hub.anonymous().get(hub.url(paths::DRAFTS)).bearer_auth(&ta).send().await.unwrap()).await.code,
        ErrorCode::CertificateRequired
    );
    assert_eq!(error(c.get(hub.url(paths::DRAFTS)).bearer_auth(&ta).send().await.unwrap()).await.code, ErrorCode::SessionRequired);
    assert_eq!(error(c.get(hub.url(paths::NOTICES)).bearer_auth(&ta).send().await.unwrap()).await.code, ErrorCode::SessionRequired);
    assert_eq!(error(c.get(hub.url(paths::EVENTS)).bearer_auth(&ta).send().await.unwrap()).await.code, ErrorCode::SessionRequired);
    hub.stop().await;
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_of_the_user() {
    let hub = Hub::start().await;
    let admin = hub.offices[0].admin.clone();
    let (pc1, t1) = hub.session(0).await;
    let (pc1b, t1b) = (pc1.clone(), hub.login(&pc1, &admin).await);
    // A second API session of the same user (another login on the same PC).
    assert_eq!(pc1b.get(hub.url(paths::INBOX)).bearer_auth(&t1b).send().await.unwrap().status(), 200);
    let change = PasswordChange { current: renkei_hub::dev::DEMO_PASSWORD.into(), new: "Atarashii2026".into() };
    let r = pc1.post(hub.url(paths::PASSWORD)).bearer_auth(&t1).json(&change).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(pc1.get(hub.url(paths::INBOX)).bearer_auth(&t1).send().await.unwrap().status(), 200, "the changing session goes on");
    let other = pc1b.get(hub.url(paths::INBOX)).bearer_auth(&t1b).send().await.unwrap();
    assert_eq!(error(other).await.code, ErrorCode::SessionRequired, "every other API session ended");
    // A change from the portal ends the API sessions too.
    let mut b = crate::portal::Browser::new(&hub);
    let (_, to, _) = b.post("/portal/login", &[("login", admin.as_str()), ("password", "Atarashii2026")]).await;
    assert_eq!(to, "/portal/home");
    let (_, _, page) = b.get("/portal/password").await;
    let csrf = crate::portal::csrf_of(&page);
    let form = [("csrf", &*csrf), ("current", "Atarashii2026"), ("new", "Mouikkai2026"), ("again", "Mouikkai2026")];
    let (s, to, _) = b.post("/portal/password", &form).await;
    assert_eq!((s, to.as_str()), (303, "/portal/home"));
    let api = pc1.get(hub.url(paths::INBOX)).bearer_auth(&t1).send().await.unwrap();
    assert_eq!(error(api).await.code, ErrorCode::SessionRequired, "the portal change ended the API session");
    hub.stop().await;
}

#[tokio::test]
async fn an_office_whose_licence_lapsed_cannot_send() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let st = &hub.running.state;
    let mut o = st.store.office(&hub.offices[0].number).await.unwrap().unwrap();
    o.license_until = Some("2020-03-31".into());
    st.store.upsert_office(&o, 1, Default::default()).await.unwrap();
    let files = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    let e = error(send(&hub, &a, &ta, &hub.offices[1].number, &files, None).await).await;
    assert_eq!(e.code, ErrorCode::LicenseExpired);
    assert!(e.message.contains("ライセンスの有効期限（2020-03-31）が過ぎている"), "{}", e.message);
    assert_eq!(st.store.message_count().await.unwrap(), 0);
    // What it already received stays readable.
    assert_eq!(a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn unsafe_file_names_are_refused_at_the_door() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    let long = "あ".repeat(100) + ".pdf";
    for name in ["CON.txt", "C:evil.pdf", "evil\u{202e}fdp.pdf", "trailing .pdf ", "..", long.as_str(), "tab\there.pdf"] {
        let files = vec![(name.to_owned(), b"%PDF-1.4 x".to_vec())];
        let e = error(send(&hub, &a, &ta, &to, &files, None).await).await;
        assert_eq!(e.code, ErrorCode::FileNameInvalid, "{name:?}: {e:?}");
        assert!(e.message.contains("ファイル名"), "{name:?}: {}", e.message);
        // Drafts take the same rule.
        let r = a.post(hub.url(paths::DRAFTS)).bearer_auth(&ta).multipart(form(&to, "", &files)).send().await.unwrap();
        assert_eq!(error(r).await.code, ErrorCode::FileNameInvalid, "draft {name:?}");
    }
    assert_eq!(hub.running.state.store.message_count().await.unwrap(), 0);
    hub.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn files_the_hub_creates_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let hub = Hub::start().await;
    let mode =
        |p: std::path::PathBuf| std::fs::metadata(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777;
    let d = hub.dir.clone();
    assert_eq!(mode(d.clone()), 0o700);
    for f in [d.join("ca/ca.key"), d.join("ca/server.key"), hub.offices[0].terminal_dir.join("terminal.key")] {
        assert_eq!(mode(f.clone()), 0o600, "{}", f.display());
    }
    if hub.pg.is_none() {
        for f in ["hub.db", "hub.db-wal", "hub.db-shm"] {
            assert_eq!(mode(d.join(f)) & 0o077, 0, "{f} is readable by others");
        }
    }
    hub.stop().await;
}

#[tokio::test]
async fn certificates_name_their_issuer_and_server_certificates_live_at_most_397_days() {
    let hub = Hub::start().await;
    let server = std::fs::read_to_string(hub.dir.join("ca/server.pem")).unwrap();
    let terminal = std::fs::read_to_string(hub.offices[0].terminal_dir.join("terminal.pem")).unwrap();
    for (what, pem) in [("server", &server), ("terminal", &terminal)] {
        let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let cert = p.parse_x509().unwrap();
        let aki = cert
            .extensions()
            .iter()
            .any(|e| matches!(e.parsed_extension(), x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(_)));
        assert!(aki, "{what} certificate without an Authority Key Identifier");
        if what == "server" {
            let days = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp()) / 86400;
            assert!(days <= 397, "server certificate valid {days} days");
        }
    }
    hub.stop().await;
}

#[tokio::test]
async fn login_doors_take_small_bodies_from_this_site_only() {
    let hub = Hub::start().await;
    let a = hub.terminal(0);
    let big = LoginRequest { login: "x".repeat(1 << 20), password: "y".into() };
    for path in [paths::SESSIONS, paths::ENROL] {
        let r = a.post(hub.url(path)).json(&big).send().await.unwrap();
        assert_eq!(r.status(), 413, "{path} buffered a 1 MiB body");
    }
    let r = hub
        .anonymous()
        .post(hub.url("/portal/login"))
        .form(&[("login", "x".repeat(1 << 20)), ("password", "y".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // A login form posted from another site is refused (login CSRF).
    for path in ["/portal/login", "/operator/login"] {
        let r = hub
            .anonymous()
            .post(hub.url(path))
            .header("origin", "https://evil.example")
            .form(&[("login", hub.offices[0].admin.as_str()), ("password", renkei_hub::dev::DEMO_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // Metric labels stay bounded whatever method a client invents.
    let r = a.request(reqwest::Method::from_bytes(b"FROBNICATE").unwrap(), hub.url(paths::INBOX)).send().await.unwrap();
    assert!(r.status().is_client_error());
    let m = reqwest::get(format!("http://{}/metrics", hub.running.metrics_addr.unwrap())).await.unwrap().text().await.unwrap();
    assert!(!m.contains("FROBNICATE") && m.contains("method=\"other\""), "raw methods reach the metric labels");
    hub.stop().await;
}

#[tokio::test]
async fn every_api_refusal_is_the_json_error_body() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let json_error = |what: &'static str| {
        move |r: reqwest::Response| async move {
            let status = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let text = r.text().await.unwrap();
            let b: ErrorBody = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not an ErrorBody ({status}, {ct}): {text}"));
            assert_eq!(status, b.code.status(), "{what}");
            assert!(ct.starts_with("application/json"), "{what}: {ct}");
            assert!(!b.message.is_empty() && !b.message.is_ascii(), "{what}: a Japanese message");
            b.code
        }
    };
    let cases: Vec<(&str, reqwest::RequestBuilder, ErrorCode)> = vec![
        ("bad limit", a.get(hub.url(paths::INBOX)).query(&[("limit", "たくさん")]), ErrorCode::BadRequest),
        ("bad index", a.get(hub.url("/v1/messages/x/files/abc")), ErrorCode::BadRequest),
        ("login as text", a.post(hub.url(paths::SESSIONS)).body("login=x"), ErrorCode::BadRequest),
        ("login JSON syntax", a.post(hub.url(paths::SESSIONS)).header("content-type", "application/json").body("{"), ErrorCode::BadRequest),
        (
            "login field type",
            a.post(hub.url(paths::SESSIONS)).json(&serde_json::json!({"login": 1, "password": []})),
            ErrorCode::BadRequest,
        ),
        ("send without multipart", a.post(hub.url(paths::MESSAGES)).json(&serde_json::json!({"to": "x"})), ErrorCode::BadRequest),
        ("unknown route", a.get(hub.url("/v1/nothing-here")), ErrorCode::NotFound),
        ("wrong method", a.put(hub.url(paths::INBOX)), ErrorCode::MethodNotAllowed),
    ];
    for (what, req, want) in cases {
        let r = req.bearer_auth(&ta).send().await.unwrap();
        assert_eq!(json_error(what)(r).await, want, "{what}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn event_streams_are_capped_per_session() {
    let hub = Hub::start_with(|c| c.limits.event_streams_per_session = 2).await;
    let (a, ta) = hub.session(0).await;
    let open = || a.get(hub.url(paths::EVENTS)).bearer_auth(&ta).send();
    let s1 = open().await.unwrap();
    let s2 = open().await.unwrap();
    assert_eq!((s1.status(), s2.status()), (reqwest::StatusCode::OK, reqwest::StatusCode::OK));
    let e = error(open().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::TooManyRequests);
    // Another session of the office has its own allowance.
    let (b, tb) = hub.second_terminal(0).await;
    assert_eq!(b.get(hub.url(paths::EVENTS)).bearer_auth(&tb).send().await.unwrap().status(), 200);
    // A closed stream gives its place back.
    drop(s1);
    let mut again = None;
    for _ in 0..50 {
        let r = open().await.unwrap();
        if r.status() == 200 {
            again = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "the closed stream's place was not given back");
    drop((s2, again));
    hub.stop().await;
}

#[tokio::test]
async fn connections_are_capped_and_slow_headers_are_cut() {
    let hub = Hub::start_with(|c| {
        c.limits.max_connections = 2;
        c.limits.header_read_timeout_seconds = 1;
    })
    .await;
    // A client that sends half a request's headers and then nothing is cut off.
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject as _;
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(hub.running.state.ca.cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(hub.running.addr).await.unwrap();
    let mut tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "a client that never finishes its headers keeps its connection");
    drop(tls);
    // Two connections are the cap here: a third is closed until one of them ends.
    let (c1, c2) = (hub.anonymous(), hub.anonymous());
    for c in [&c1, &c2] {
        assert_eq!(c.get(hub.url("/healthz")).send().await.unwrap().status(), 200);
    }
    let c3 = hub.anonymous();
    assert!(c3.get(hub.url("/healthz")).send().await.is_err(), "a third connection was served");
    drop(c1);
    let mut served = false;
    for _ in 0..50 {
        if c3.get(hub.url("/healthz")).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(served, "a freed connection's place was not given back");
    drop((c2, c3));
    hub.stop().await;
}

/// A connection remembers its session for at most a second (issue 13: one query less per
/// request), never across a change that ends sessions made through the hub, and a session ended
/// elsewhere (another node of the cluster, the admin command) is refused within that second.
#[tokio::test]
async fn a_remembered_session_never_outlives_its_end() {
    let hub = Hub::start().await;
    let (c, t) = hub.session(0).await;
    let inbox = |c: &reqwest::Client, t: &str| c.get(hub.url(paths::INBOX)).bearer_auth(t).send();
    assert_eq!(inbox(&c, &t).await.unwrap().status(), 200);
    // Ended through the hub (a logout on another connection): refused on this one at once.
    let other = hub.terminal(0);
    assert_eq!(inbox(&c, &t).await.unwrap().status(), 200);
    assert_eq!(other.delete(hub.url(paths::SESSIONS)).bearer_auth(&t).send().await.unwrap().status(), 204);
    assert_eq!(error(inbox(&c, &t).await.unwrap()).await.code, ErrorCode::SessionRequired, "at once");

    // Ended by another process on the same database: within a second.
    let t = hub.login(&c, &hub.offices[0].admin.clone()).await;
    assert_eq!(inbox(&c, &t).await.unwrap().status(), 200);
    let elsewhere = renkei_hub::store::Store::open(&hub.config.database_url()).await.unwrap();
    elsewhere.delete_session(&renkei_hub::auth::token_hash(&t)).await.unwrap();
    tokio::time::sleep(renkei_hub::tls::SessionMemo::FOR + std::time::Duration::from_millis(100)).await;
    assert_eq!(error(inbox(&c, &t).await.unwrap()).await.code, ErrorCode::SessionRequired, "within a second");
    hub.stop().await;
}
