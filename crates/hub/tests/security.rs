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
        .upsert_office(&Office { number: "1310100019".into(), name: "未契約".into(), kinds: vec!["15".into()], license_until: None }, 0)
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
        ("nothing", b.clone(), vec![], ErrorCode::Empty),
    ];
    for (what, to, files, code) in cases {
        let e = error(send(&hub, &a, &ta, &to, &files, None).await).await;
        assert_eq!(e.code, code, "{what}: {e:?}");
        assert!(!e.message.is_empty());
        if code == ErrorCode::RecipientNotRegistered {
            assert_eq!(e.message, "入力された番号はケアプランデータ連携システムに対応していません");
        }
    }
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
    // And a good send still works afterwards.
    assert_eq!(send(&hub, &a, &ta, &b, &unit, None).await.status(), 201);
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
    assert!(hub.running.state.revoke("Tdemo1", "test").await.unwrap());
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
    let try_login = |pw: &str| a.post(hub.url(paths::SESSIONS)).json(&LoginRequest { login: login.clone(), password: pw.into() }).send();
    let e = error(try_login("wrong1").await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::BadCredentials);
    assert!(e.message.contains("あと2回"), "{}", e.message);
    assert_eq!(error(try_login("wrong2").await.unwrap()).await.code, ErrorCode::BadCredentials);
    assert_eq!(error(try_login("wrong3").await.unwrap()).await.code, ErrorCode::AccountLocked);
    // Even the right password is refused while locked.
    let e = error(try_login(renkei_hub::dev::DEMO_PASSWORD).await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::AccountLocked);
    assert!(e.message.contains("日本時間"), "{}", e.message);
    // An unknown login ID looks the same as a wrong password.
    let r = a.post(hub.url(paths::SESSIONS)).json(&LoginRequest { login: "KJ999".into(), password: "x".into() }).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::BadCredentials);
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
                role: "staff",
                name: "新人",
                password_hash: &hash,
                must_change: true,
            },
            0,
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
        c.patch(hub.url(&format!("/v1/drafts/{id}"))).json(&DraftUpdate { version: d.version, to: None, note: Some("x".into()) }),
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
