//! One storage conformance suite, run against every back end. SQLite always runs; PostgreSQL
//! runs when `RENKEI_TEST_POSTGRES_URL` names a server (`.ci/run` sets it, and fails when the
//! server is missing). Each PostgreSQL run gets its own database, dropped afterwards.

use renkei_hub::store::*;
use sqlx::Connection as _;

async fn conformance(store: &Store) {
    let name = store.backend_name();
    // Offices: insert, update, list.
    let a = Office {
        number: "1371000017".into(),
        name: "さくら居宅介護支援事業所".into(),
        kinds: vec!["43".into()],
        license_until: Some("2099-03-31".into()),
    };
    let b = Office {
        number: "1372000024".into(),
        name: "ひまわりデイサービス".into(),
        kinds: vec!["15".into(), "78".into()],
        license_until: None,
    };
    store.upsert_office(&a, 1, Default::default()).await.unwrap();
    store.upsert_office(&b, 1, Default::default()).await.unwrap();
    assert_eq!(store.office(&b.number).await.unwrap().as_ref(), Some(&b), "{name}");
    let b2 = Office { license_until: Some("2030-01-01".into()), ..b.clone() };
    store.upsert_office(&b2, 2, Default::default()).await.unwrap();
    assert_eq!(store.office(&b.number).await.unwrap(), Some(b2.clone()), "{name}");
    assert_eq!(store.offices().await.unwrap(), vec![a.clone(), b2.clone()], "{name}");
    assert_eq!(store.office("9999999999").await.unwrap(), None);

    // Users: unique login, lockout counting, password change.
    let u = store
        .add_user(
            &NewUser {
                login: "KJ1", office: &a.number, role: Role::Admin, name: "管理者　太郎", password_hash: "h1", must_change: true
            },
            1,
            Default::default(),
        )
        .await
        .unwrap();
    let dup = store
        .add_user(
            &NewUser { login: "KJ1", office: &b.number, role: Role::Staff, name: "x", password_hash: "h", must_change: false },
            1,
            Default::default(),
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{name}: {dup:?}");
    let got = store.user_by_login("KJ1").await.unwrap().unwrap();
    assert_eq!((got.id, got.name.as_str(), got.must_change, got.failures, got.locked_until), (u, "管理者　太郎", true, 0, None), "{name}");
    assert_eq!(store.login_attempt(LockoutCounter::Terminal, u, false, 10, 3, 500).await.unwrap(), 1);
    assert_eq!(store.login_attempt(LockoutCounter::Terminal, u, false, 11, 3, 500).await.unwrap(), 2);
    assert_eq!(store.user(u).await.unwrap().unwrap().locked_until, None, "{name}: not locked before the limit");
    assert_eq!(store.login_attempt(LockoutCounter::Terminal, u, false, 12, 3, 500).await.unwrap(), 3);
    assert_eq!(store.user(u).await.unwrap().unwrap().locked_until, Some(500), "{name}: locked at the limit");
    // Failures without a certificate count apart and never touch the terminal counter.
    assert_eq!(store.login_attempt(LockoutCounter::Web, u, false, 13, 3, 600).await.unwrap(), 1);
    let got = store.user(u).await.unwrap().unwrap();
    assert_eq!((got.failures, got.locked_until, got.web_failures, got.web_locked_until), (3, Some(500), 1, None), "{name}");
    // A lock that has ended starts the count again: one wrong try after it does not lock again.
    assert_eq!(
        store.login_attempt(LockoutCounter::Terminal, u, false, 501, 3, 900).await.unwrap(),
        1,
        "{name}: the count restarts after the lock"
    );
    assert_eq!(store.user(u).await.unwrap().unwrap().locked_until, None, "{name}: the ended lock is cleared");
    store.login_attempt(LockoutCounter::Terminal, u, true, 502, 3, 900).await.unwrap();
    let got = store.user(u).await.unwrap().unwrap();
    assert_eq!((got.failures, got.locked_until), (0, None));
    let audit = Audit { action: AuditAction::Password, office: Some(&b.number), user_id: Some(u), ..Default::default() };
    store.set_password_ending_sessions(u, "h2", false, (None, None), audit, 503).await.unwrap();
    let got = store.user(u).await.unwrap().unwrap();
    assert_eq!((got.password_hash.as_str(), got.must_change, got.password_set_at, got.web_failures), ("h2", false, 503, 0));
    let staff = store
        .add_user(
            &NewUser { login: "KJ2", office: &b.number, role: Role::Staff, name: "職員", password_hash: "h", must_change: false },
            1,
            Default::default(),
        )
        .await
        .unwrap();

    // Enrolment codes: once, for one office, before expiry.
    store.add_enrolment_code("c1", &a.number, 10, 100, Default::default()).await.unwrap();
    store.add_enrolment_code("c2", &a.number, 10, 20, Default::default()).await.unwrap();
    assert!(!store.use_enrolment_code("c1", &b.number, 50).await.unwrap(), "{name}: other office");
    assert!(store.use_enrolment_code("c1", &a.number, 50).await.unwrap());
    assert!(!store.use_enrolment_code("c1", &a.number, 51).await.unwrap(), "{name}: used once");
    assert!(!store.use_enrolment_code("c2", &a.number, 50).await.unwrap(), "{name}: expired");

    // Terminals and sessions.
    let ta = Terminal { id: "TA".into(), office: a.number.clone(), label: "受付".into(), serial: "0a".into(), revoked_at: None };
    let tb = Terminal { id: "TB".into(), office: b.number.clone(), label: "事務所".into(), serial: "0b".into(), revoked_at: None };
    store.add_terminal(&ta, false, "fpA", 9999, 1, None, Default::default()).await.unwrap();
    store.add_terminal(&tb, false, "fpB", 9999, 1, None, Default::default()).await.unwrap();
    assert_eq!(store.terminal_by_fingerprint("fpA").await.unwrap(), Some(ta.clone()));
    assert_eq!(store.terminal_by_fingerprint("nope").await.unwrap(), None);
    store.add_session("s1", u, "TA", 1, 100, Default::default()).await.unwrap();
    store.add_session("s2", staff, "TB", 1, 100, Default::default()).await.unwrap();
    assert_eq!(store.session("s1", 50).await.unwrap(), Some(ApiSession { user_id: u, terminal_id: "TA".to_owned() }));
    assert_eq!(store.session("s1", 100).await.unwrap(), None, "{name}: expired");
    store.delete_session("s2").await.unwrap();
    assert_eq!(store.session("s2", 50).await.unwrap(), None);

    // Messages: one transaction with files and audit; visibility per office; idempotency.
    let file = |idx: i64, name: &str, kind: Option<&str>, month: Option<&str>| FileRow {
        idx,
        name: name.into(),
        kind: kind.map(Into::into),
        service_month: month.map(Into::into),
        csv_version: kind.map(|_| "202407".into()),
        size: 10 + idx,
        sha256: format!("{idx:064}"),
    };
    let content = |idx: i64| (format!("{idx:064}"), bytes::Bytes::from(format!("内容{idx}").into_bytes()));
    let mut ids = Vec::new();
    for i in 0..5i64 {
        let m = NewMessage {
            public_id: format!("m{i}"),
            sender: a.number.clone(),
            recipient: b.number.clone(),
            note: format!("第{i}便　よろしくお願いします"),
            contact: (i == 4).then(|| r#"{"kind":"no_use","month":"202506","person":"H000000001"}"#.to_owned()),
            sent_by: u,
            sent_terminal: "TA".into(),
            sent_at: 1000 + i * 100,
            idempotency_key: Some(format!("k{i}")),
            idempotency_digest: Some(format!("digest{i}")),
            from_draft: None,
            agent: None,
            // Stored with the row (content-addressed: the same hash twice is one row).
            inline: if i % 2 == 0 { vec![content(0), content(1)] } else { vec![content(0)] },
            files: if i % 2 == 0 {
                vec![file(0, "UPPLAN_x.CSV", Some("UPPLAN"), Some("202506")), file(1, "UPSIKYU_x.CSV", Some("UPSIKYU"), Some("202506"))]
            } else {
                vec![file(0, "連絡.pdf", None, None)]
            },
        };
        ids.push(
            store
                .insert_message(
                    &m,
                    Audit {
                        action: AuditAction::Send,
                        office: Some(&a.number),
                        user_id: Some(u),
                        terminal_id: Some("TA"),
                        ip: Some("127.0.0.1"),
                        detail: "d".into(),
                    },
                )
                .await
                .unwrap(),
        );
    }
    let m4 = store.message_for("m4", &b.number).await.unwrap().unwrap();
    assert_eq!(m4.contact.as_deref(), Some(r#"{"kind":"no_use","month":"202506","person":"H000000001"}"#), "{name}: a contact reads back");
    assert_eq!(store.message_for("m3", &b.number).await.unwrap().unwrap().contact, None, "{name}");
    let m0 = store.message_for("m0", &b.number).await.unwrap().unwrap();
    assert_eq!(m0.files[0].csv_version.as_deref(), Some("202407"), "{name}: the CSV version reads back");
    let f = store.file_for("m0", 0, &b.number).await.unwrap().unwrap();
    assert_eq!(f.file.csv_version.as_deref(), Some("202407"), "{name}");
    assert_eq!(f.content.as_deref(), Some("内容0".as_bytes()), "{name}: a small file's content comes with its row");
    assert_eq!(store.file_for("m1", 0, &b.number).await.unwrap().unwrap().content.as_deref(), Some("内容0".as_bytes()), "{name}");
    let again = NewMessage {
        public_id: "other".into(),
        sender: a.number.clone(),
        recipient: b.number.clone(),
        note: String::new(),
        contact: None,
        sent_by: u,
        sent_terminal: "TA".into(),
        sent_at: 9,
        idempotency_key: Some("k1".into()),
        idempotency_digest: Some("other".into()),
        from_draft: None,
        agent: None,
        inline: vec![content(7)],
        files: vec![file(0, "n", None, None)],
    };
    assert!(
        matches!(
            store.insert_message(&again, Audit { action: AuditAction::Send, ..Default::default() }).await,
            Err(StoreError::Conflict(_))
        ),
        "{name}: idempotency key is unique per sender"
    );
    assert_eq!(store.message_count().await.unwrap(), 5, "{name}: the conflicting insert left nothing");
    let KeyedMessage { message: m1, digest } = store.message_by_idempotency(&a.number, "k1").await.unwrap().unwrap();
    assert_eq!((m1.public_id.as_str(), digest.as_deref()), ("m1", Some("digest1")), "{name}: the key keeps the first request's digest");
    assert_eq!(store.message_by_idempotency(&b.number, "k1").await.unwrap(), None);
    // Keys are forgotten after their time (here: messages sent before 1250, i.e. m0–m2).
    assert_eq!(store.forget_idempotency_keys(1250).await.unwrap(), 3, "{name}");
    assert_eq!(store.message_by_idempotency(&a.number, "k1").await.unwrap(), None, "{name}: forgotten");
    assert!(store.message_by_idempotency(&a.number, "k3").await.unwrap().is_some(), "{name}: still kept");
    store.probe_write("node-a", 1).await.unwrap();
    store.probe_write("node-a", 2).await.unwrap();
    let m0 = store.message_for("m0", &b.number).await.unwrap().unwrap();
    assert_eq!(m0.files.len(), 2);
    assert_eq!(m0.note, "第0便　よろしくお願いします");
    assert_eq!(m0.files[1], file(1, "UPSIKYU_x.CSV", Some("UPSIKYU"), Some("202506")));
    assert!(store.message_for("m0", "1373000031").await.unwrap().is_none(), "{name}: a third office sees nothing");

    // Listing: newest first, filters, paging.
    let list = |inbox: bool, f: ListFilter| {
        let office = if inbox { b.number.clone() } else { a.number.clone() };
        async move { store.list(&office, inbox, &f).await.unwrap().into_iter().map(|m| m.public_id).collect::<Vec<_>>() }
    };
    let all = ListFilter { limit: 50, ..Default::default() };
    assert_eq!(list(true, all.clone()).await, ["m4", "m3", "m2", "m1", "m0"], "{name}");
    assert_eq!(list(false, all.clone()).await, ["m4", "m3", "m2", "m1", "m0"], "{name}");
    assert!(store.list(&b.number, false, &all).await.unwrap().is_empty(), "{name}: B sent nothing");
    assert_eq!(list(true, ListFilter { kind: Some("UPSIKYU".into()), ..all.clone() }).await, ["m4", "m2", "m0"]);
    assert_eq!(list(true, ListFilter { month: Some("202506".into()), ..all.clone() }).await, ["m4", "m2", "m0"]);
    assert_eq!(list(true, ListFilter { counterpart: Some(a.number.clone()), ..all.clone() }).await.len(), 5);
    assert!(list(true, ListFilter { counterpart: Some(b.number.clone()), ..all.clone() }).await.is_empty());
    assert_eq!(list(true, ListFilter { since: Some(1100), until: Some(1300), ..all.clone() }).await, ["m2", "m1"]);
    assert_eq!(list(true, ListFilter { limit: 2, ..all.clone() }).await, ["m4", "m3"]);
    assert_eq!(list(true, ListFilter { limit: 2, before_id: Some(ids[3]), ..all.clone() }).await, ["m2", "m1"]);

    // Receipts: fetch once (audited once); opening is not fetching.
    assert!(store.mark_fetched(ids[0], staff, "TB", 5000, Audit { action: AuditAction::Fetch, ..Default::default() }).await.unwrap());
    assert!(
        !store.mark_fetched(ids[0], staff, "TB", 6000, Audit { action: AuditAction::Fetch, ..Default::default() }).await.unwrap(),
        "{name}: only the first marks"
    );
    let m0 = store.message_for("m0", &a.number).await.unwrap().unwrap();
    assert_eq!((m0.fetched_at, m0.opened_at), (Some(5000), None), "{name}: the first fetch counts");
    store.mark_opened(ids[1], staff, 7000, Audit { action: AuditAction::Open, ..Default::default() }).await.unwrap();
    let m1 = store.message_for("m1", &a.number).await.unwrap().unwrap();
    assert_eq!((m1.fetched_at, m1.opened_at), (None, Some(7000)), "{name}: opened, its files not taken");
    assert_eq!(list(true, ListFilter { fetched: Some(false), ..all.clone() }).await, ["m4", "m3", "m2", "m1"]);
    store.mark_fetched(ids[1], staff, "TB", 7500, Audit { action: AuditAction::Fetch, ..Default::default() }).await.unwrap();
    assert_eq!(list(true, ListFilter { fetched: Some(true), ..all.clone() }).await, ["m1", "m0"]);
    let log = store.audit_log(100).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "fetch").count(), 2, "{name}: m0 once, m1 once");
    assert_eq!(log.iter().filter(|e| e.action == "send").count(), 5, "{name}");
    assert_eq!(log.iter().filter(|e| e.action == "open").count(), 1, "{name}");

    // Drafts: shared per office, versioned, consumed by the message that sends them.
    let d = store
        .create_draft(
            &NewDraft {
                public_id: "d1",
                office: &a.number,
                recipient: "",
                note: "下書き",
                contact: Some(r#"{"kind":"plan_change","person":"山田"}"#),
                user: u,
                files: &[file(0, "a.pdf", None, None)],
            },
            10,
        )
        .await
        .unwrap();
    assert!(store.draft(&b.number, "d1").await.unwrap().is_none(), "{name}: another office sees no draft");
    let got = store.draft(&a.number, "d1").await.unwrap().unwrap();
    assert_eq!((got.version, got.updated_by.as_str(), got.files.len()), (1, "管理者　太郎", 1));
    assert_eq!(got.contact.as_deref(), Some(r#"{"kind":"plan_change","person":"山田"}"#), "{name}");
    let to_b = DraftChange { recipient: Some(&b.number), ..Default::default() };
    assert!(store.update_draft(d, 1, &to_b, u, 11).await.unwrap());
    let stale = DraftChange { note: Some("古い版"), contact: Some(None), ..Default::default() };
    assert!(!store.update_draft(d, 1, &stale, u, 12).await.unwrap(), "{name}: a stale version is refused");
    let got = store.draft(&a.number, "d1").await.unwrap().unwrap();
    assert!(got.contact.is_some(), "{name}: a change that does not name the contact leaves it");
    store.add_draft_files(d, &[file(0, "b.pdf", None, None), file(1, "c.pdf", None, None)], u, 13).await.unwrap();
    assert!(store.remove_draft_file(d, 0, u, 14).await.unwrap());
    let got = store.draft(&a.number, "d1").await.unwrap().unwrap();
    assert_eq!(got.files.iter().map(|f| (f.idx, f.name.as_str())).collect::<Vec<_>>(), [(1, "b.pdf"), (2, "c.pdf")], "{name}");
    assert_eq!((got.recipient.as_str(), got.note.as_str(), got.version), (b.number.as_str(), "下書き", 4));
    assert!(store.update_draft(d, 4, &DraftChange { contact: Some(None), ..Default::default() }, u, 15).await.unwrap());
    let got = store.draft(&a.number, "d1").await.unwrap().unwrap();
    assert_eq!((got.contact, got.version, got.note.as_str()), (None, 5, "下書き"), "{name}: the contact is cleared, the rest stays");
    let from_draft = |version| NewMessage {
        public_id: format!("fd{version}"),
        sender: a.number.clone(),
        recipient: b.number.clone(),
        note: "下書き".into(),
        contact: None,
        sent_by: u,
        sent_terminal: "TA".into(),
        sent_at: 20,
        idempotency_key: None,
        idempotency_digest: None,
        files: vec![file(0, "b.pdf", None, None)],
        inline: vec![],
        from_draft: Some((d, version)),
        agent: None,
    };
    assert!(
        matches!(
            store.insert_message(&from_draft(4), Audit { action: AuditAction::Send, ..Default::default() }).await,
            Err(StoreError::Conflict(_))
        ),
        "{name}: stale draft"
    );
    assert!(store.message_for("fd4", &a.number).await.unwrap().is_none(), "{name}: nothing stored");
    store.insert_message(&from_draft(5), Audit { action: AuditAction::Send, ..Default::default() }).await.unwrap();
    assert!(store.draft(&a.number, "d1").await.unwrap().is_none(), "{name}: sending consumes the draft");
    assert!(store.drafts(&a.number).await.unwrap().is_empty());
    let d2 = store
        .create_draft(&NewDraft { public_id: "d2", office: &a.number, recipient: "", note: "", contact: None, user: u, files: &[] }, 30)
        .await
        .unwrap();
    assert!(store.delete_draft(d2).await.unwrap());
    assert!(!store.delete_draft(d2).await.unwrap());

    // Revocation ends sessions and feeds the CRL.
    store.add_session("s3", u, "TA", 1, 100, Default::default()).await.unwrap();
    assert!(store.revoke_terminal("TA", 77, Default::default()).await.unwrap());
    assert!(!store.revoke_terminal("TA", 78, Default::default()).await.unwrap(), "{name}: once");
    assert_eq!(store.session("s3", 50).await.unwrap(), None, "{name}: sessions of a revoked terminal end");
    assert_eq!(store.revoked_serials().await.unwrap(), vec![("0a".to_owned(), 77)]);
    assert_eq!(store.terminals(&a.number).await.unwrap()[0].revoked_at, Some(77));

    // Notices: everyone's and one office's.
    let notice = |id: &str, office: Option<&str>, title: &str| NewNotice {
        public_id: id.into(),
        office: office.map(Into::into),
        kind: "operator".into(),
        title: title.into(),
        body: "本文".into(),
        ..Default::default()
    };
    let all = store.add_notice(&notice("n1", None, "メンテナンスのお知らせ"), 100, Default::default()).await.unwrap();
    store.add_notice(&notice("n2", Some(&b.number), "B あて"), 101, Default::default()).await.unwrap();
    let titles = |v: Vec<NoticeRow>| v.into_iter().map(|n| n.public_id).collect::<Vec<_>>();
    assert_eq!(titles(store.notices(Some(&a.number), 110, 10).await.unwrap()), ["n1"], "{name}");
    assert_eq!(titles(store.notices(Some(&b.number), 110, 10).await.unwrap()), ["n2", "n1"], "{name}");
    assert_eq!(titles(store.notices_after(all.id, 10).await.unwrap()), ["n2"], "{name}: after");
    // A prefecture's notice, shown within its period only, to that prefecture's offices only.
    let pref: i64 = a.number[..2].parse().unwrap();
    let n3 = NewNotice { prefecture: Some(pref), starts_at: Some(150), expires_at: Some(200), ..notice("n3", None, "都道府県あて") };
    store.add_notice(&n3, 102, Default::default()).await.unwrap();
    assert_eq!(titles(store.notices(Some(&a.number), 120, 10).await.unwrap()), ["n1"], "{name}: not yet");
    assert_eq!(titles(store.notices(Some(&a.number), 160, 10).await.unwrap()), ["n3", "n1"], "{name}: within");
    assert_eq!(titles(store.notices(Some(&a.number), 200, 10).await.unwrap()), ["n1"], "{name}: over");
    let elsewhere = format!("{:02}00000000", if pref == 27 { 26 } else { 27 });
    assert_eq!(titles(store.notices(Some(&elsewhere), 160, 10).await.unwrap()), ["n1"], "{name}: other prefecture");
    assert_eq!(titles(store.notices(None, 160, 10).await.unwrap()), ["n1"], "{name}: the public sees everyone's only");
    // Edited and withdrawn.
    let edit = NoticeEdit {
        office: None,
        prefecture: None,
        title: "メンテナンス（変更）".into(),
        body: "新しい本文".into(),
        starts_at: None,
        expires_at: None,
    };
    assert!(store.edit_notice("n1", &edit, 170, Default::default()).await.unwrap());
    let n1 = store.notice("n1").await.unwrap().unwrap();
    assert_eq!((n1.title.as_str(), n1.updated_at), ("メンテナンス（変更）", Some(170)), "{name}");
    assert!(store.withdraw_notice("n1", 180, Default::default()).await.unwrap());
    assert!(!store.withdraw_notice("n1", 181, Default::default()).await.unwrap(), "{name}: once");
    assert!(!store.edit_notice("n1", &edit, 182, Default::default()).await.unwrap(), "{name}: a withdrawn notice stays withdrawn");
    assert_eq!(titles(store.notices(Some(&b.number), 250, 10).await.unwrap()), ["n2"], "{name}: withdrawn");
    // 稼働状況: one row, replaced.
    assert_eq!(store.operating_status().await.unwrap(), None);
    let s = StatusRow {
        state: "incident".into(),
        message: "送信が遅れています".into(),
        starts_at: None,
        ends_at: None,
        updated_at: 5,
        updated_by: "op".into(),
    };
    store.set_operating_status(&s, Default::default()).await.unwrap();
    let s2 = StatusRow { state: "maintenance".into(), starts_at: Some(10), ends_at: Some(20), ..s.clone() };
    store.set_operating_status(&s2, Default::default()).await.unwrap();
    assert_eq!(store.operating_status().await.unwrap(), Some(s2), "{name}");

    // Expiry: unfetched messages sent before the cutoff (m0 fetched, m1 opened; m2 sent at 1200).
    let expired = store.expire_unfetched(1250, 9000, |to, at| (format!("nd-{to}-{at}"), "期限切れ".into(), "本文".into())).await.unwrap();
    let mut ids: Vec<&str> = expired.iter().map(|e| e.public_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["fd5", "m2"], "{name}: m2 and the message sent from the draft (t=20)");
    assert!(expired.iter().all(|e| e.notice.office.as_deref() == Some(a.number.as_str())), "{name}: the notice goes to the sender");
    assert!(
        store.expire_unfetched(1250, 9001, |_, _| (String::new(), String::new(), String::new())).await.unwrap().is_empty(),
        "{name}: once"
    );
    assert_eq!(store.message_for("m2", &a.number).await.unwrap().unwrap().expired_at, Some(9000));
    assert_eq!(list(true, ListFilter { fetched: Some(false), ..all_filter() }).await, ["m4", "m3"], "{name}: expired is not 未取得");
    assert!(titles(store.notices(Some(&a.number), 9000, 10).await.unwrap()).contains(&format!("nd-{}-1200", b.number)));

    let seven = NewMessage {
        public_id: "seven".into(),
        idempotency_key: None,
        sent_at: 50_000,
        files: vec![FileRow { sha256: content(7).0, ..file(0, "n", None, None) }],
        ..again.clone()
    };
    store.insert_message(&seven, Audit { action: AuditAction::Send, ..Default::default() }).await.unwrap();
    assert_eq!(store.file_for("seven", 0, &b.number).await.unwrap().unwrap().content.as_deref(), Some("内容7".as_bytes()), "{name}");
    // Purge: content older than the cutoff, blobs freed only when nothing else uses them.
    assert!(store.purge_content(1150, 9100).await.unwrap().is_empty(), "{name}: m2/m4 still use the same blobs");
    let m0 = store.message_for("m0", &a.number).await.unwrap().unwrap();
    assert_eq!((m0.purged_at, m0.files.len()), (Some(9100), 2), "{name}: rows and hashes stay");
    assert!(store.file_for("m4", 1, &b.number).await.unwrap().unwrap().content.is_some(), "{name}: content still used stays");
    let mut free = store.purge_content(100_000, 9200).await.unwrap();
    free.sort();
    assert_eq!(free, [format!("{:064}", 0), format!("{:064}", 1), format!("{:064}", 7)], "{name}");
    for (m, idx) in [("m4", 0), ("m4", 1), ("seven", 0)] {
        assert_eq!(
            store.file_for(m, idx, &b.number).await.unwrap().unwrap().content,
            None,
            "{name}: freed content is deleted with the purge"
        );
    }
    assert!(store.audit_log(100).await.unwrap().iter().any(|e| e.action == "purge"));

    // Concurrent sends (on SQLite committed in groups): each stands or falls alone. Two share an
    // idempotency key: exactly one of them is stored, and every other send is, whole.
    let before = store.message_count().await.unwrap();
    let concurrent: Vec<NewMessage> = (0..20i64)
        .map(|i| NewMessage {
            public_id: format!("c{i}"),
            idempotency_key: Some(if i == 7 || i == 13 { "ck-dup".into() } else { format!("ck{i}") }),
            sent_at: 200_000 + i,
            inline: vec![content(100 + i)],
            files: vec![FileRow { sha256: content(100 + i).0, ..file(0, "n", None, None) }, file(1, "m", None, None)],
            ..again.clone()
        })
        .collect();
    let results = futures_util::future::join_all(
        concurrent
            .iter()
            .map(|m| store.insert_message(m, Audit { action: AuditAction::Send, detail: m.public_id.clone(), ..Default::default() })),
    )
    .await;
    let conflicts = results.iter().filter(|r| matches!(r, Err(StoreError::Conflict(_)))).count();
    assert_eq!(conflicts, 1, "{name}: {results:?}");
    assert!(results.iter().all(|r| r.is_ok() || matches!(r, Err(StoreError::Conflict(_)))), "{name}: {results:?}");
    assert_eq!(store.message_count().await.unwrap(), before + 19, "{name}: the refused send left nothing");
    for (m, r) in concurrent.iter().zip(&results) {
        let stored = store.file_for(&m.public_id, 0, &b.number).await.unwrap();
        match r {
            Ok(id) => {
                let f = stored.unwrap_or_else(|| panic!("{name}: {} lost", m.public_id));
                assert_eq!(f.content, Some(m.inline[0].1.to_vec()), "{name}: {}", m.public_id);
                assert_eq!(store.message_for(&m.public_id, &b.number).await.unwrap().map(|x| (x.id, x.files.len())), Some((*id, 2)));
            }
            Err(_) => assert!(stored.is_none(), "{name}: the refused {} was stored", m.public_id),
        }
    }
    let log = store.audit_search(Some("send"), None, 500).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.detail.starts_with('c')).count(), 19, "{name}: one audit row per stored send");

    // A history for benchmarks: copies of the delivered (fetched, not purged) messages only.
    let (Ok(c0), Ok(c1)) = (&results[0], &results[1]) else { panic!("{name}: c0, c1 stored") };
    for id in [*c0, *c1] {
        store.mark_fetched(id, staff, "TB", 300_000, Audit { action: AuditAction::Fetch, ..Default::default() }).await.unwrap();
    }
    let before = store.message_count().await.unwrap();
    assert_eq!(store.replicate_delivered(3).await.unwrap(), 6, "{name}: three copies of c0 and c1");
    assert_eq!(store.message_count().await.unwrap(), before + 6, "{name}");
    let copies = list(true, ListFilter { fetched: Some(true), ..all_filter() }).await;
    let copies: Vec<&String> = copies.iter().filter(|p| p.starts_with('h')).collect();
    assert_eq!(copies.len(), 6, "{name}: copies are delivered messages in B's inbox");
    for p in &copies {
        let m = store.message_for(p, &a.number).await.unwrap().unwrap();
        assert_eq!((m.files.len(), m.fetched_at), (2, Some(300_000)), "{name}: {p}");
        let f = store.file_for(p, 0, &b.number).await.unwrap().unwrap();
        assert!(f.content.as_deref().is_some_and(|c| c.starts_with("内容10".as_bytes())), "{name}: {p}: contents shared");
    }
    // Later sends are newer than every copy (on PostgreSQL the identity moved past them).
    let after = NewMessage { public_id: "after".into(), idempotency_key: None, sent_at: 400_000, ..again.clone() };
    store.insert_message(&after, Audit { action: AuditAction::Send, ..Default::default() }).await.unwrap();
    assert_eq!(list(true, all_filter()).await.first().map(String::as_str), Some("after"), "{name}");
}

/// The office registry, 利用状況 and the public list, identical on both back ends.
async fn registry_conformance(store: &Store) {
    use renkei_hub::store::{Office, ParticipantQuery, RegistryRow};
    let num = |body: &str| renkei_spec::ids::OfficeNumber::from_body(body).unwrap().to_string();
    let (tokyo_a, tokyo_b, hokkaido, osaka) = (num("137900001"), num("137900002"), num("017900003"), num("277900004"));
    let row = |n: &str, name: &str, kind: &str, p: i32| RegistryRow {
        number: n.into(),
        name: name.into(),
        kind: kind.into(),
        prefecture: p,
        address: format!("住所{name}"),
    };
    store
        .import_registry(&[row(&tokyo_a, "東京A", "43", 13), row(&tokyo_b, "東京B", "15", 13), row(&hokkaido, "札幌C", "43", 1)], 10)
        .await
        .unwrap();
    // Re-import updates in place.
    store.import_registry(&[row(&tokyo_b, "東京B（新）", "15", 13)], 11).await.unwrap();
    assert!(store.registry_count().await.unwrap() >= 3);
    let office = |n: &str, name: &str, kinds: &[&str], until: &str| Office {
        number: n.into(),
        name: name.into(),
        kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
        license_until: Some(until.into()),
    };
    store.upsert_office(&office(&tokyo_a, "東京A居宅", &["43"], "2099-12-31"), 1, Default::default()).await.unwrap();
    store.upsert_office(&office(&tokyo_b, "東京Bデイ", &["15", "78"], "2000-01-01"), 1, Default::default()).await.unwrap(); // expired
    store.upsert_office(&office(&osaka, "大阪D訪問", &["11"], "2099-12-31"), 1, Default::default()).await.unwrap(); // not in the registry
    let usage = store.usage_by_prefecture("2026-11-21").await.unwrap();
    assert_eq!(usage.len(), 47);
    let get = |p: i32| usage.iter().find(|u| u.prefecture == p).copied().unwrap();
    assert!(get(13).offices >= 2 && get(13).participating >= 1);
    assert!(get(1).offices >= 1);
    assert!(get(27).participating >= 1, "participating without a registry row still counts");

    let today = "2026-11-21";
    let q = |pref: Option<i32>, kind: Option<&str>, text: Option<&str>| ParticipantQuery {
        prefecture: pref,
        kind: kind.map(str::to_owned),
        text: text.map(str::to_owned),
    };
    let ParticipantPage { list, total } = store.search_participants(&q(Some(13), None, Some("東京A")), today, 10).await.unwrap();
    assert_eq!((total, list.len()), (1, 1));
    assert_eq!((list[0].number.as_str(), list[0].address.as_str()), (tokyo_a.as_str(), "住所東京A"));
    let ParticipantPage { list, .. } = store.search_participants(&q(None, None, Some(&tokyo_b[..6])), today, 10).await.unwrap();
    assert!(list.iter().all(|p| p.number != tokyo_b), "an expired license is not listed");
    let ParticipantPage { list, .. } = store.search_participants(&q(None, Some("11"), Some("大阪D")), today, 10).await.unwrap();
    assert_eq!((list.len(), list[0].address.as_str(), list[0].kinds.clone()), (1, "", vec!["11".to_owned()]));
    let ParticipantPage { list, .. } = store.search_participants(&q(None, None, Some(&osaka[..7])), today, 10).await.unwrap();
    assert!(list.iter().any(|p| p.number == osaka), "by the start of the number");
    let ParticipantPage { total, .. } = store.search_participants(&q(None, Some("4"), None), today, 10).await.unwrap();
    assert_eq!(total, 0, "a kind matches whole codes only");
}

/// 代行 in the store: agents, delegations in force by date, revocation once, the agent on a
/// message, and the actions done in an office's name (audit rows with `agent=`).
async fn delegation_conformance(store: &Store) {
    use renkei_hub::store::{Audit, AuditAction, NewDelegation};
    let name = store.backend_name();
    for (n, o) in [("1381000016", "みなと居宅"), ("1382000023", "代行センター")] {
        let office = Office { number: n.into(), name: o.into(), kinds: vec!["43".into()], license_until: None };
        store.upsert_office(&office, 1, Default::default()).await.unwrap();
    }
    let (office, agent) = ("1381000016", "1382000023");
    assert!(!store.is_agent(agent).await.unwrap(), "{name}");
    store.set_agent(agent, 2, Default::default()).await.unwrap();
    assert!(store.is_agent(agent).await.unwrap() && !store.is_agent(office).await.unwrap(), "{name}");
    assert!(store.agents().await.unwrap().contains(&(agent.to_owned(), "代行センター".to_owned())), "{name}");
    let d = |starts: &'static str, ends: Option<&'static str>, send: bool| NewDelegation {
        office,
        agent,
        may_send: send,
        may_receive: !send,
        starts_on: starts,
        ends_on: ends,
        created_by: "KJ138100001601",
    };
    let send = store.add_delegation(&d("2026-04-01", Some("2027-03-31"), true), 3, Default::default()).await.unwrap();
    let receive = store.add_delegation(&d("2026-10-01", None, false), 4, Default::default()).await.unwrap();
    let in_force = |day: &'static str| async move {
        store.delegations_in_force(office, agent, day).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(in_force("2026-03-31").await, Vec::<i64>::new(), "{name}: before its first day");
    assert_eq!(in_force("2026-04-01").await, vec![send], "{name}: from its first day");
    let mut both = in_force("2026-12-01").await;
    both.sort_unstable();
    assert_eq!(both, vec![send, receive], "{name}");
    assert_eq!(in_force("2027-04-01").await, vec![receive], "{name}: after its last day");
    let rows = store.delegations(office, true).await.unwrap();
    assert_eq!((rows.len(), rows[0].agent_name.as_str(), rows[0].office_name.as_str()), (2, "代行センター", "みなと居宅"), "{name}");
    assert_eq!(store.delegations(agent, false).await.unwrap().len(), 2, "{name}: the agent's side");
    // Revoked once, by its own office only.
    assert!(!store.revoke_delegation(receive, agent, 5, Default::default()).await.unwrap(), "{name}: not the agent's to revoke");
    assert!(store.revoke_delegation(receive, office, 5, Default::default()).await.unwrap(), "{name}");
    assert!(!store.revoke_delegation(receive, office, 6, Default::default()).await.unwrap(), "{name}: once");
    assert_eq!(in_force("2027-04-01").await, Vec::<i64>::new(), "{name}");
    // What agents did in the office's name: audit rows under the office with the agent.
    for (detail, office) in [(format!("agent={agent} user=KJ138200002301 to=1371000017"), office), ("by=portal:x".to_owned(), office)] {
        let a = Audit { action: AuditAction::Send, office: Some(office), detail, ..Default::default() };
        store.audit(a, 7).await.unwrap();
    }
    let actions = store.delegated_actions(office, 10).await.unwrap();
    assert_eq!(actions.len(), 1, "{name}: {actions:?}");
    assert!(actions[0].detail.starts_with(&format!("agent={agent} ")), "{name}");
}

fn all_filter() -> ListFilter {
    ListFilter { limit: 50, ..Default::default() }
}

/// Every inbox and sent listing is an index search on the office, never a scan of all
/// messages, so listing does not slow down as the history of other offices grows.
async fn listing_uses_indexes(store: &Store) {
    let base = ListFilter { limit: 50, ..Default::default() };
    let filters = [
        base.clone(),
        ListFilter { fetched: Some(false), ..base.clone() },
        ListFilter { fetched: Some(true), ..base.clone() },
        ListFilter { counterpart: Some("1371000017".into()), ..base.clone() },
        ListFilter { kind: Some("UPPLAN".into()), month: Some("202506".into()), ..base.clone() },
        ListFilter { since: Some(1), until: Some(2), before_id: Some(100), ..base.clone() },
    ];
    for inbox in [true, false] {
        for f in &filters {
            let plan = store.explain_list(inbox, f).await.unwrap().expect("sqlite");
            let top = plan.iter().find(|p| p.contains(" m ") || p.ends_with(" m")).cloned().unwrap_or_default();
            assert!(top.starts_with("SEARCH m USING"), "inbox={inbox} {f:?}: {plan:?}");
            assert!(!plan.iter().any(|p| p.starts_with("SCAN")), "inbox={inbox} {f:?}: {plan:?}");
        }
    }
}

#[tokio::test]
async fn conformance_sqlite() {
    let dir = std::env::temp_dir().join(format!("renkei-conf-{}-{}", std::process::id(), renkei_hub::auth::token()[..8].to_owned()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!("sqlite:{}", dir.join("hub.db").display())).await.unwrap();
    conformance(&store).await;
    registry_conformance(&store).await;
    delegation_conformance(&store).await;
    listing_uses_indexes(&store).await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A throwaway PostgreSQL database, dropped by [`PgDb::drop_now`].
pub struct PgDb {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDb {
    pub async fn create(admin_url: &str) -> PgDb {
        let name = format!("renkei_test_{}", renkei_hub::auth::token()[..12].to_owned());
        let mut c = sqlx::PgConnection::connect(admin_url).await.unwrap_or_else(|e| panic!("RENKEI_TEST_POSTGRES_URL={admin_url}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut c).await.unwrap();
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
        PgDb { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name }
    }

    pub async fn drop_now(self) {
        let mut c = sqlx::PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))).execute(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn conformance_postgres() {
    let Ok(admin) = std::env::var("RENKEI_TEST_POSTGRES_URL") else {
        eprintln!("conformance_postgres: RENKEI_TEST_POSTGRES_URL is not set; .ci/run sets it (PostgreSQL on 127.0.0.1:5432)");
        return;
    };
    let db = PgDb::create(&admin).await;
    let store = Store::open(&db.url).await.unwrap();
    assert_eq!(store.backend_name(), "postgres");
    // A session left inside a transaction is ended by the server, its locks with it.
    assert_eq!(store.session_setting("idle_in_transaction_session_timeout").await.unwrap().as_deref(), Some("10s"));
    conformance(&store).await;
    registry_conformance(&store).await;
    delegation_conformance(&store).await;
    drop(store);
    db.drop_now().await;
}
