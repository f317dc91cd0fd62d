use crate::common::*;
use renkei_protocol::*;

#[tokio::test]
async fn send_fetch_open_and_the_sender_sees_each_state() {
    let hub = Hub::start().await;
    // The sender's PC is enrolled through the API (CSR + one-time code), then logs in.
    let (a, ta) = hub.second_terminal(0).await;
    let (b, tb) = hub.session(1).await;
    let to = hub.offices[1].number.clone();
    let files = slip_unit(&hub, 0, 1, 1);

    let r = send(&hub, &a, &ta, &to, &files, None).await;
    assert_eq!(r.status(), 201);
    let sent: SendResponse = r.json().await.unwrap();
    assert_eq!(sent.message.state, DeliveryState::NotFetched);
    assert_eq!(sent.message.files.len(), 3);
    assert!(sent.message.files.iter().any(|f| f.kind.as_deref() == Some("UPPLAN") && f.service_month.as_deref() == Some("202506")));
    assert!(
        sent.message.files.iter().all(|f| f.csv_version.as_deref() == Some("202407")),
        "受信一覧's CSVバージョン: {:?}",
        sent.message.files
    );
    let id = sent.message.id.clone();

    // The recipient sees it as 未取得, filters work.
    let page: MessagePage =
        b.get(hub.url(paths::INBOX)).bearer_auth(&tb).query(&[("status", "not_fetched")]).send().await.unwrap().json().await.unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].id, id);
    for (k, v, n) in [
        ("kind", "UPSIKYU", 1),
        ("kind", "UPJSK", 0),
        ("month", "202506", 1),
        ("month", "202507", 0),
        ("sender", hub.offices[0].number.as_str(), 1),
        ("status", "fetched", 0),
        // An empty filter (as an HTML form sends it) is no filter.
        ("month", "", 1),
        ("since", "", 1),
        ("until", "", 1),
        ("status", "", 1),
        ("cursor", "", 1),
    ] {
        let p: MessagePage = b.get(hub.url(paths::INBOX)).bearer_auth(&tb).query(&[(k, v)]).send().await.unwrap().json().await.unwrap();
        assert_eq!(p.messages.len(), n, "{k}={v}");
    }

    // Download: bytes and SHA-256 header match what was sent.
    for f in &sent.message.files {
        let r = b.get(hub.url(&format!("/v1/messages/{id}/files/{}", f.index))).bearer_auth(&tb).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let sha = r.headers()[paths::SHA256_HEADER].to_str().unwrap().to_owned();
        let body = r.bytes().await.unwrap();
        assert_eq!(sha, f.sha256);
        assert_eq!(renkei_hub::auth::sha256_hex(&body), f.sha256);
        assert_eq!(body.as_ref(), files.iter().find(|(n, _)| *n == f.name).unwrap().1.as_slice());
    }

    // Fetch (twice: idempotent) → the sender sees 取得済; open → 開封済.
    for _ in 0..2 {
        let m: MessageInfo =
            b.post(hub.url(&format!("/v1/messages/{id}/fetch"))).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
        assert_eq!(m.state, DeliveryState::Fetched);
    }
    let s: MessagePage = a.get(hub.url(paths::SENT)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(s.messages[0].state, DeliveryState::Fetched);
    let m: MessageInfo = b.post(hub.url(&format!("/v1/messages/{id}/open"))).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::Opened);
    let m: MessageInfo = a.get(hub.url(&format!("/v1/messages/{id}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::Opened);
    assert!(m.fetched_at.is_some() && m.opened_at.is_some());

    // Opening is not fetching: a message read on screen whose files were never taken stays
    // 未取得 for both sides (and may still expire unfetched); 開封 is recorded on its own.
    let other = slip_unit(&hub, 0, 1, 2);
    let second: SendResponse = send(&hub, &a, &ta, &to, &other, None).await.json().await.unwrap();
    let id2 = second.message.id;
    let m: MessageInfo = b.post(hub.url(&format!("/v1/messages/{id2}/open"))).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!((m.state, m.fetched_at.is_some(), m.opened_at.is_some()), (DeliveryState::NotFetched, false, true));
    let m: MessageInfo = a.get(hub.url(&format!("/v1/messages/{id2}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::NotFetched, "the sender is not told the data arrived");
    let waiting: MessagePage =
        b.get(hub.url(paths::INBOX)).bearer_auth(&tb).query(&[("status", "not_fetched")]).send().await.unwrap().json().await.unwrap();
    assert!(waiting.messages.iter().any(|w| w.id == id2), "still waiting for データ取得");
    let m: MessageInfo = b.post(hub.url(&format!("/v1/messages/{id2}/fetch"))).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::Opened, "fetched after being opened: both receipts");

    // Every step is audited.
    let log = hub.running.state.store.audit_log(50).await.unwrap();
    for action in ["login", "send", "fetch", "open"] {
        assert!(log.iter().any(|e| e.action == action), "{action} not audited");
    }
    hub.stop().await;
}

#[tokio::test]
async fn paging_is_by_cursor() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let to = hub.offices[1].number.clone();
    for i in 0..5 {
        let note = vec![(format!("連絡{i}.txt"), format!("連絡 {i}").into_bytes())];
        assert_eq!(send(&hub, &a, &ta, &to, &note, None).await.status(), 201);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let p: MessagePage = b.get(hub.url(paths::INBOX)).bearer_auth(&tb).query(&q).send().await.unwrap().json().await.unwrap();
        seen.extend(p.messages.iter().map(|m| m.files[0].name.clone()));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["連絡4.txt", "連絡3.txt", "連絡2.txt", "連絡1.txt", "連絡0.txt"]);
    hub.stop().await;
}

#[tokio::test]
async fn idempotent_retry_creates_one_message() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    let files = slip_unit(&hub, 0, 1, 2);
    let first: SendResponse = send(&hub, &a, &ta, &to, &files, Some("retry-1")).await.json().await.unwrap();
    let r = send(&hub, &a, &ta, &to, &files, Some("retry-1")).await;
    assert_eq!(r.status(), 200);
    let second: SendResponse = r.json().await.unwrap();
    assert!(second.replayed && !first.replayed);
    assert_eq!(first.message.id, second.message.id);
    assert_eq!(hub.running.state.store.message_count().await.unwrap(), 1);
    hub.stop().await;
}

#[tokio::test]
async fn enrolment_of_a_second_pc() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let code: EnrolmentCode = a.post(hub.url(paths::ENROLMENT_CODES)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    // The new PC makes its own key; only the CSR travels. No client certificate yet.
    let (key, csr) = renkei_hub::ca::terminal_key_and_csr("受付PC").unwrap();
    let req = EnrolRequest {
        login: hub.offices[0].staff.clone(),
        password: renkei_hub::dev::DEMO_PASSWORD.into(),
        code: code.code.clone(),
        csr_pem: csr.clone(),
        label: "受付PC".into(),
    };
    let r = hub.anonymous().post(hub.url(paths::ENROL)).json(&req).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let e: EnrolResponse = r.json().await.unwrap();
    assert_eq!(e.office, hub.offices[0].number);
    let id = reqwest::Identity::from_pem(format!("{}{key}", e.certificate_pem).as_bytes()).unwrap();
    let pc2 = hub.client_with(Some(id));
    let t2 = hub.login(&pc2, &hub.offices[0].staff.clone()).await;
    let r = pc2.get(hub.url(paths::INBOX)).bearer_auth(&t2).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The code works once.
    let again = error(hub.anonymous().post(hub.url(paths::ENROL)).json(&req).send().await.unwrap()).await;
    assert_eq!(again.code, ErrorCode::EnrolmentCodeInvalid);
    // Staff cannot issue codes.
    let e = error(pc2.post(hub.url(paths::ENROLMENT_CODES)).bearer_auth(&t2).send().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::Forbidden);
    // The office is told at once (a notice on every terminal, with what to do).
    let (a, ta) = hub.session(0).await;
    let notices: Vec<Notice> = a.get(hub.url(paths::NOTICES)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    let n = notices.iter().find(|n| n.title == "新しい端末が登録されました").expect("enrolment announced");
    assert!(n.body.contains("受付PC") && n.body.contains("失効"), "{}", n.body);
    let (c, tc) = hub.session(1).await;
    let others: Vec<Notice> = c.get(hub.url(paths::NOTICES)).bearer_auth(&tc).send().await.unwrap().json().await.unwrap();
    assert!(others.iter().all(|n| n.title != "新しい端末が登録されました"), "only the office itself is told");
    // And on the portal's top page, with the way to revoke it.
    let mut b = crate::portal::Browser::new(&hub);
    b.post("/portal/login", &[("login", hub.offices[0].admin.as_str()), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, home) = b.get("/portal/home").await;
    assert!(home.contains("新しい端末が登録されました") && home.contains("端末を確認・失効する"), "{home}");
    hub.stop().await;
}

#[tokio::test]
async fn directory_lookup() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let d: DirectoryEntry =
        a.get(hub.url(&format!("/v1/directory/{}", hub.offices[2].number))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(d.registered && d.license_valid);
    assert_eq!(d.service_kinds, ["11"]);
    let d: DirectoryEntry = a.get(hub.url("/v1/directory/1310100019")).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(!d.registered && !d.license_valid);
    hub.stop().await;
}

#[tokio::test]
async fn a_reused_key_answers_only_the_same_request() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b_no, c_no) = (hub.offices[1].number.clone(), hub.offices[2].number.clone());
    let pdf = |s: &str| vec![("連絡.pdf".to_owned(), format!("%PDF-1.4 {s}").into_bytes())];
    let first = send(&hub, &a, &ta, &b_no, &pdf("one"), Some("k-1")).await;
    assert_eq!(first.status(), 201);
    let first: SendResponse = first.json().await.unwrap();
    // Another recipient, other content, another note, another file name: each refused, nothing sent.
    let other_name = vec![("別名.pdf".to_owned(), b"%PDF-1.4 one".to_vec())];
    for (to, files) in [(&c_no, pdf("one")), (&b_no, pdf("two")), (&b_no, other_name)] {
        let e = error(send(&hub, &a, &ta, to, &files, Some("k-1")).await).await;
        assert_eq!(e.code, ErrorCode::IdempotencyKeyReused);
        assert!(e.message.contains("別の内容の送信にすでに使われています"), "{}", e.message);
    }
    let other_note = a
        .post(hub.url(paths::MESSAGES))
        .bearer_auth(&ta)
        .header(paths::IDEMPOTENCY_KEY, "k-1")
        .multipart(form(&b_no, "別のメモ", &pdf("one")))
        .send()
        .await
        .unwrap();
    assert_eq!(error(other_note).await.code, ErrorCode::IdempotencyKeyReused);
    assert_eq!(hub.running.state.store.message_count().await.unwrap(), 1, "nothing was sent for the refused requests");
    // The same request again is a replay of the first message.
    let again: SendResponse = send(&hub, &a, &ta, &b_no, &pdf("one"), Some("k-1")).await.json().await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.message.id, first.message.id);
    // Keys belong to the office: another office may use the same key for its own message.
    let (c, tc) = hub.session(2).await;
    assert_eq!(send(&hub, &c, &tc, &b_no, &pdf("three"), Some("k-1")).await.status(), 201);

    // Drafts: a key used for a direct send is refused on a draft send (the draft stays unsent);
    // the key a draft was sent with replays that send only.
    let new_draft = |content: &'static str| async {
        let r = a.post(hub.url(paths::DRAFTS)).bearer_auth(&ta).multipart(form(&b_no, "下書き", &pdf(content))).send().await.unwrap();
        r.json::<DraftInfo>().await.unwrap()
    };
    let d = new_draft("draft").await;
    let send_draft = |id: String, key: &'static str| {
        a.post(hub.url(&format!("/v1/drafts/{id}/send"))).bearer_auth(&ta).header(paths::IDEMPOTENCY_KEY, key).send()
    };
    let e = error(send_draft(d.id.clone(), "k-1").await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::IdempotencyKeyReused);
    assert_eq!(a.get(hub.url(&format!("/v1/drafts/{}", d.id))).bearer_auth(&ta).send().await.unwrap().status(), 200, "still a draft");
    let sent = send_draft(d.id.clone(), "k-draft").await.unwrap();
    assert_eq!(sent.status(), 201);
    let sent: SendResponse = sent.json().await.unwrap();
    let replay = send_draft(d.id.clone(), "k-draft").await.unwrap();
    assert_eq!(replay.status(), 200);
    let replay: SendResponse = replay.json().await.unwrap();
    assert!(replay.replayed && replay.message.id == sent.message.id);
    let d2 = new_draft("draft2").await;
    assert_eq!(error(send_draft(d2.id.clone(), "k-draft").await.unwrap()).await.code, ErrorCode::IdempotencyKeyReused);
    assert_eq!(error(send(&hub, &a, &ta, &b_no, &pdf("one"), Some("k-draft")).await).await.code, ErrorCode::IdempotencyKeyReused);
    hub.stop().await;
}

#[tokio::test]
async fn idempotency_keys_are_forgotten_after_the_configured_days() {
    let hub = Hub::start_with(|c| c.retention.idempotency_key_days = 7).await;
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    let files = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    assert_eq!(send(&hub, &a, &ta, &to, &files, Some("week")).await.status(), 201);
    let r = renkei_hub::service::retention::pass(&hub.running.state, renkei_hub_now() + 6 * 86400).await.unwrap();
    assert_eq!(r.forgotten_keys, 0);
    assert_eq!(send(&hub, &a, &ta, &to, &files, Some("week")).await.status(), 200, "kept for 7 days");
    let r = renkei_hub::service::retention::pass(&hub.running.state, renkei_hub_now() + 8 * 86400).await.unwrap();
    assert_eq!(r.forgotten_keys, 1);
    assert_eq!(send(&hub, &a, &ta, &to, &files, Some("week")).await.status(), 201, "a forgotten key makes a new message");
    hub.stop().await;
}

#[tokio::test]
async fn drafts_are_shared_by_the_offices_terminals() {
    let hub = Hub::start().await;
    let (pc1, t1) = hub.session(0).await;
    let (pc2, t2) = hub.second_terminal(0).await;
    let to = hub.offices[1].number.clone();
    let unit = slip_unit(&hub, 0, 1, 5);

    // A draft is checked as its send will be: a recipient, on the system, not oneself; files
    // the door would take (the unit's completeness waits for the send).
    for (to, files, code) in [
        ("", &unit[..2], ErrorCode::BadRequest),
        (hub.offices[0].number.as_str(), &unit[..2], ErrorCode::BadRequest),
        ("1310100019", &unit[..2], ErrorCode::RecipientNotRegistered),
        (to.as_str(), &[][..], ErrorCode::Empty),
    ] {
        let note = if files.is_empty() { "" } else { "x" };
        let r = pc1.post(hub.url(paths::DRAFTS)).bearer_auth(&t1).multipart(form(to, note, files)).send().await.unwrap();
        assert_eq!(error(r).await.code, code, "draft to {to:?} with {} files", files.len());
    }
    let exe = vec![("設定.exe".to_owned(), b"MZ\x90\x00".to_vec())];
    let r = pc1.post(hub.url(paths::DRAFTS)).bearer_auth(&t1).multipart(form(&to, "x", &exe)).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::AttachmentRefused);
    let other = slip_unit(&hub, 0, 2, 5);
    let r = pc1.post(hub.url(paths::DRAFTS)).bearer_auth(&t1).multipart(form(&to, "x", &other[..1])).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::ReceiverMismatch, "a file for another office");

    // PC1 starts a draft with part of the unit.
    let r = pc1.post(hub.url(paths::DRAFTS)).bearer_auth(&t1).multipart(form(&to, "月末分", &unit[..2])).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let d: DraftInfo = r.json().await.unwrap();
    assert_eq!(d.files.len(), 2);
    assert!(d.files.iter().any(|f| f.kind.as_deref() == Some("UPHOSOKU")));

    // PC2 sees it, completes the note and adds the last file.
    let list: Vec<DraftInfo> = pc2.get(hub.url(paths::DRAFTS)).bearer_auth(&t2).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, d.id);
    let upd: DraftInfo = pc2
        .patch(hub.url(&format!("/v1/drafts/{}", d.id)))
        .bearer_auth(&t2)
        .json(&DraftUpdate { version: d.version, to: None, note: Some("月末分です".into()), contact: None })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(upd.to, to);
    assert!(upd.updated_by.contains("職員"), "{}", upd.updated_by);
    let upd: DraftInfo = pc2
        .post(hub.url(&format!("/v1/drafts/{}/files", d.id)))
        .bearer_auth(&t2)
        .multipart(form("", "", &unit[2..]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(upd.files.len(), 3);

    // PC1 edits with the version it read: refused, and told who changed it.
    let e = error(
        pc1.patch(hub.url(&format!("/v1/drafts/{}", d.id)))
            .bearer_auth(&t1)
            .json(&DraftUpdate { version: d.version, to: None, note: Some("古い".into()), contact: None })
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("職員"), "{}", e.message);

    // Another office sees nothing of it.
    let (c, tc) = hub.session(2).await;
    let none: Vec<DraftInfo> = c.get(hub.url(paths::DRAFTS)).bearer_auth(&tc).send().await.unwrap().json().await.unwrap();
    assert!(none.is_empty());
    assert_eq!(
        error(c.get(hub.url(&format!("/v1/drafts/{}", d.id))).bearer_auth(&tc).send().await.unwrap()).await.code,
        ErrorCode::NotFound
    );

    // PC1 sends it; the draft is gone everywhere and the recipient has the message.
    let r = pc1.post(hub.url(&format!("/v1/drafts/{}/send", d.id))).bearer_auth(&t1).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let list: Vec<DraftInfo> = pc2.get(hub.url(paths::DRAFTS)).bearer_auth(&t2).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty());
    assert_eq!(
        error(pc2.post(hub.url(&format!("/v1/drafts/{}/send", d.id))).bearer_auth(&t2).send().await.unwrap()).await.code,
        ErrorCode::NotFound
    );
    let (b, tb) = hub.session(1).await;
    let inbox: MessagePage = b.get(hub.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!(inbox.messages.len(), 1);
    assert_eq!(inbox.messages[0].note, "月末分です");
    assert_eq!(inbox.messages[0].files.len(), 3);

    // A draft that breaks the rules is refused at send time and stays a draft.
    let bad: DraftInfo =
        pc1.post(hub.url(paths::DRAFTS)).bearer_auth(&t1).multipart(form(&to, "", &unit[..1])).send().await.unwrap().json().await.unwrap();
    let e = error(pc1.post(hub.url(&format!("/v1/drafts/{}/send", bad.id))).bearer_auth(&t1).send().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::SendUnitInvalid);
    assert_eq!(pc1.get(hub.url(&format!("/v1/drafts/{}", bad.id))).bearer_auth(&t1).send().await.unwrap().status(), 200);
    assert_eq!(pc1.delete(hub.url(&format!("/v1/drafts/{}", bad.id))).bearer_auth(&t1).send().await.unwrap().status(), 204);
    hub.stop().await;
}

/// Reads a server-sent-event stream until `want` appears or 10 s pass.
async fn read_until(resp: &mut reqwest::Response, buf: &mut String, want: &str) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !buf.contains(want) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => buf.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn events_notices_and_retention() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let (c, tc) = hub.session(2).await;
    let to = hub.offices[1].number.clone();
    let mut ev_a = a.get(hub.url(paths::EVENTS)).bearer_auth(&ta).send().await.unwrap();
    let mut ev_b = b.get(hub.url(paths::EVENTS)).bearer_auth(&tb).send().await.unwrap();
    let mut ev_c = c.get(hub.url(paths::EVENTS)).bearer_auth(&tc).send().await.unwrap();
    assert_eq!(ev_b.headers()["content-type"], "text/event-stream");
    let (mut ba, mut bb, mut bc) = (String::new(), String::new(), String::new());

    // New mail reaches the recipient; the receipt reaches the sender; a third office hears nothing.
    let unit = slip_unit(&hub, 0, 1, 6);
    let s1: SendResponse = send(&hub, &a, &ta, &to, &unit, None).await.json().await.unwrap();
    assert!(read_until(&mut ev_b, &mut bb, "event: new_message").await, "{bb}");
    assert!(bb.contains(&s1.message.id));
    b.post(hub.url(&format!("/v1/messages/{}/fetch", s1.message.id))).bearer_auth(&tb).send().await.unwrap();
    assert!(read_until(&mut ev_a, &mut ba, "event: receipt").await, "{ba}");
    assert!(ba.contains("\"state\":\"fetched\""), "{ba}");

    // An operator notice reaches the offices it is for (published by the store, as the CLI
    // does): one to 大阪府 not these 東京都 offices, one to everyone all of them.
    use renkei_hub::service::notices::{Draft, Target, publish};
    let draft =
        |target, title: &str| Draft { target, title: title.into(), body: "12月29日から…".into(), starts_at: None, expires_at: None };
    let store_ = &hub.running.state.store;
    publish(store_, renkei_hub::service::Actor::Admin, &draft(Target::Prefecture(27), "大阪府の事業所へ")).await.unwrap();
    publish(store_, renkei_hub::service::Actor::Admin, &draft(Target::All, "年末年始の運用について")).await.unwrap();
    assert!(read_until(&mut ev_c, &mut bc, "年末年始の運用について").await, "{bc}");
    assert!(!bc.contains("new_message"), "office C saw another office's mail: {bc}");
    assert!(!bc.contains("大阪府の事業所へ"), "a notice to another prefecture reached office C: {bc}");

    // A second message stays unfetched; 31 days later it expires: event, notice, 410, state.
    let files2 = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 test".to_vec())];
    let s2: SendResponse = send(&hub, &a, &ta, &to, &files2, None).await.json().await.unwrap();
    let report = renkei_hub::service::retention::pass(&hub.running.state, renkei_hub_now() + 31 * 86400).await.unwrap();
    assert_eq!(report.expired, 1);
    assert!(read_until(&mut ev_a, &mut ba, "event: expired").await, "{ba}");
    let sent: MessagePage = a.get(hub.url(paths::SENT)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    let states: Vec<_> = sent.messages.iter().map(|m| (m.id.clone(), m.state)).collect();
    assert!(states.contains(&(s2.message.id.clone(), DeliveryState::Expired)), "{states:?}");
    let notices: Vec<Notice> = a.get(hub.url(paths::NOTICES)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(notices.iter().any(|n| n.kind == "non_delivery" && n.body.contains("30日間取得されなかった")), "{notices:?}");
    let theirs: Vec<Notice> = b.get(hub.url(paths::NOTICES)).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert!(theirs.iter().all(|n| n.kind != "non_delivery"), "the recipient gets no non-delivery notice");
    let e = error(b.post(hub.url(&format!("/v1/messages/{}/fetch", s2.message.id))).bearer_auth(&tb).send().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::Gone);

    // A draft still uses the PDF; 181 days later content is purged but the draft's blob stays.
    let d: DraftInfo =
        a.post(hub.url(paths::DRAFTS)).bearer_auth(&ta).multipart(form(&to, "", &files2)).send().await.unwrap().json().await.unwrap();
    let report = renkei_hub::service::retention::pass(&hub.running.state, renkei_hub_now() + 181 * 86400).await.unwrap();
    assert_eq!(report.purged_blobs, 3, "the 3 files of the unit; the PDF is kept for the draft");
    let blobs = &hub.running.state.blobs;
    assert!(blobs.exists(&d.files[0].sha256).await);
    for f in &s1.message.files {
        assert!(!blobs.exists(&f.sha256).await);
    }
    let m: MessageInfo =
        a.get(hub.url(&format!("/v1/messages/{}", s1.message.id))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(m.content_purged);
    assert_eq!(m.files, s1.message.files, "names, sizes and hashes stay as evidence");
    let e = error(b.get(hub.url(&format!("/v1/messages/{}/files/0", s1.message.id))).bearer_auth(&tb).send().await.unwrap()).await;
    assert_eq!(e.code, ErrorCode::Gone);
    hub.stop().await;
}

fn renkei_hub_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let hub = Hub::start().await;
    let anon = hub.anonymous();
    assert_eq!(anon.get(hub.url("/healthz")).send().await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(anon.get(hub.url("/readyz")).send().await.unwrap().text().await.unwrap(), "ready");
    let (a, ta) = hub.session(0).await;
    let files = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    assert_eq!(send(&hub, &a, &ta, &hub.offices[1].number.clone(), &files, None).await.status(), 201);
    let refused = send(&hub, &a, &ta, "1370100016", &files, None).await;
    assert_eq!(refused.status(), 422);
    // Metrics are on their own plain-HTTP loopback listener, not on the API port.
    let m = reqwest::get(format!("http://{}/metrics", hub.running.metrics_addr.unwrap())).await.unwrap().text().await.unwrap();
    for want in [
        "renkei_messages_sent_total",
        "renkei_sends_refused_total{code=\"RecipientNotRegistered\"}",
        "renkei_http_request_duration_seconds_bucket",
        "route=\"/v1/messages\"",
    ] {
        assert!(m.contains(want), "{want} not in metrics:\n{m}");
    }
    assert_eq!(anon.get(hub.url("/metrics")).send().await.unwrap().status(), 404);
    hub.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_an_upload_in_flight() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let to = hub.offices[1].number.clone();
    // A 1 MiB PDF sent in 16 slow chunks (~1.6 s).
    let chunks: Vec<Vec<u8>> = (0..16)
        .map(|i| if i == 0 { b"%PDF-1.4\n".iter().copied().chain(std::iter::repeat_n(b'a', 65_527)).collect() } else { vec![b'b'; 65_536] })
        .collect();
    let body = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
        let c = it.next()?;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Some((Ok::<_, std::io::Error>(c), it))
    });
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(body)).file_name("大きな資料.pdf");
    let form = reqwest::multipart::Form::new().text("to", to.clone()).part("file", part);
    let upload = tokio::spawn({
        let (a, url, ta) = (a.clone(), hub.url(paths::MESSAGES), ta.clone());
        async move { a.post(url).bearer_auth(ta).multipart(form).send().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let Hub { running, dir, pg, .. } = hub;
    let stopping = tokio::spawn(running.shutdown(std::time::Duration::from_secs(20)));
    let r = upload.await.unwrap().unwrap();
    assert_eq!(r.status(), 201, "the upload in flight completes");
    let sent: SendResponse = r.json().await.unwrap();
    assert_eq!(sent.message.files[0].size, 16 * 65_536);
    stopping.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(dir);
    if let Some(pg) = pg {
        pg.drop_now().await;
    }
}

#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_shutdown() {
    let hub = Hub::start().await;
    let (b, tb) = hub.session(1).await;
    let mut ev = b.get(hub.url(paths::EVENTS)).bearer_auth(&tb).send().await.unwrap();
    assert_eq!(ev.status(), 200);
    let Hub { running, dir, pg, .. } = hub;
    let t0 = std::time::Instant::now();
    running.shutdown(std::time::Duration::from_secs(30)).await.unwrap();
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "shutdown waited {:?} for an idle event stream", t0.elapsed());
    // The stream ended cleanly.
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), async { while let Ok(Some(_)) = ev.chunk().await {} }).await;
    assert!(end.is_ok());
    let _ = std::fs::remove_dir_all(dir);
    if let Some(pg) = pg {
        pg.drop_now().await;
    }
}

fn contact_form(to: &str, kind: &str, month: &str, person: &str, units: &str) -> reqwest::multipart::Form {
    form(to, "", &[])
        .text("contact", kind.to_owned())
        .text("contact_month", month.to_owned())
        .text("contact_person", person.to_owned())
        .text("contact_units", units.to_owned())
}

#[tokio::test]
async fn contacts_without_files_are_sent_listed_and_drafted() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let to = hub.offices[1].number.clone();

    // Each kind with its fields: sent without a file and without a text.
    for (kind, month, person, units) in [
        ("no_use", "202507", "H000000001", ""),
        ("over_limit", "２０２５/０７", "山田 花子", "1,200"),
        ("plan_change", "", "H000000002", ""),
    ] {
        let r = a
            .post(hub.url(paths::MESSAGES))
            .bearer_auth(&ta)
            .multipart(contact_form(&to, kind, month, person, units))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{kind}: {}", r.text().await.unwrap());
    }
    let page: MessagePage = b.get(hub.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    let contacts: Vec<Contact> = page.messages.iter().filter_map(|m| m.contact.clone()).collect();
    assert_eq!(contacts.len(), 3);
    assert!(page.messages.iter().all(|m| m.files.is_empty() && m.note.is_empty()));
    let over = contacts.iter().find(|c| c.kind == ContactKind::OverLimit).unwrap();
    assert_eq!((over.month.as_deref(), over.person.as_str(), over.units), (Some("202507"), "山田 花子", Some(1200)));

    // Each missing or misplaced field is refused by name, and nothing is stored.
    for (kind, month, person, units, item) in [
        ("no_use", "", "H000000001", "", "month"),
        ("no_use", "202507", "", "", "person"),
        ("over_limit", "202507", "山田", "", "units"),
        ("plan_change", "", "山田", "10", "units"),
        ("letter", "", "山田", "", "kind"),
        ("no_use", "202507", &"あ".repeat(41), "", "person"),
    ] {
        let r = a
            .post(hub.url(paths::MESSAGES))
            .bearer_auth(&ta)
            .multipart(contact_form(&to, kind, month, person, units))
            .send()
            .await
            .unwrap();
        let e = error(r).await;
        assert_eq!(
            (e.code, e.details[0].item.as_deref()),
            (ErrorCode::ContactInvalid, Some(item)),
            "{kind}/{month}/{person}/{units}: {e:?}"
        );
    }
    let r = a.post(hub.url(paths::MESSAGES)).bearer_auth(&ta).multipart(contact_form(&to, "", "202507", "山田", "")).send().await.unwrap();
    assert!(error(r).await.message.contains("連絡の種類"), "fields without a kind");
    let page: MessagePage = b.get(hub.url(paths::INBOX)).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!(page.messages.len(), 3, "refusals store nothing");

    // A contact as a draft: changed, then sent; it arrives as the contact.
    let r = a
        .post(hub.url(paths::DRAFTS))
        .bearer_auth(&ta)
        .multipart(contact_form(&to, "no_use", "202508", "H000000003", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let d: DraftInfo = r.json().await.unwrap();
    assert_eq!(d.contact.as_ref().map(|c| c.kind), Some(ContactKind::NoUse));
    // Without its contact the draft would say nothing: refused.
    let e = error(
        a.patch(hub.url(&format!("/v1/drafts/{}", d.id)))
            .bearer_auth(&ta)
            .json(&serde_json::json!({"version": d.version, "contact": null}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e.code, ErrorCode::Empty);
    let bad = serde_json::json!({"version": d.version, "contact": {"kind": "over_limit", "month": "202508", "person": "H000000003"}});
    let e = error(a.patch(hub.url(&format!("/v1/drafts/{}", d.id))).bearer_auth(&ta).json(&bad).send().await.unwrap()).await;
    assert_eq!(e.details[0].item.as_deref(), Some("units"));
    let good = serde_json::json!({"version": d.version, "contact": {"kind": "over_limit", "month": "202508", "person": "H000000003", "units": 40}});
    let d: DraftInfo =
        a.patch(hub.url(&format!("/v1/drafts/{}", d.id))).bearer_auth(&ta).json(&good).send().await.unwrap().json().await.unwrap();
    assert_eq!(d.contact.as_ref().and_then(|c| c.units), Some(40));
    let r = a.post(hub.url(&format!("/v1/drafts/{}/send", d.id))).bearer_auth(&ta).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let sent: SendResponse = r.json().await.unwrap();
    assert_eq!(sent.message.contact.as_ref().map(|c| (c.kind, c.units)), Some((ContactKind::OverLimit, Some(40))));
    let got: MessageInfo =
        b.get(hub.url(&format!("/v1/messages/{}", sent.message.id))).bearer_auth(&tb).send().await.unwrap().json().await.unwrap();
    assert_eq!(got.contact, sent.message.contact);
    hub.stop().await;
}

#[tokio::test]
async fn the_office_status_and_outdated_clients() {
    let hub = Hub::start_with(|c| c.clients.minimum_version = "0.5.0".into()).await;
    let (a, ta) = hub.session(0).await;
    // Other software (no client header) is not concerned; renkei's client from 0.5.0 on is welcome.
    let s: OfficeStatus = a.get(hub.url(paths::OFFICE)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        (s.office.as_str(), s.license_valid, s.minimum_client_version.as_deref()),
        (hub.offices[0].number.as_str(), true, Some("0.5.0"))
    );
    assert!(s.license_until.is_some(), "{s:?}");
    for (header, status) in
        [("renkei/0.5.0 (linux)", 200), ("renkei/0.12.1 (windows)", 200), ("vendor/1.0", 200), ("renkei/0.4.9 (macos)", 426)]
    {
        let r = a.get(hub.url(paths::INBOX)).bearer_auth(&ta).header(paths::CLIENT_HEADER, header).send().await.unwrap();
        assert_eq!(r.status(), status, "{header}");
        if status == 426 {
            let e = error(r).await;
            assert_eq!(e.code, ErrorCode::ClientOutdated);
            assert!(e.message.contains("0.4.9") && e.message.contains("0.5.0 以降に更新してください"), "{}", e.message);
        }
    }
    // Also before any session: an outdated client cannot even log in, and is told why.
    let r = a
        .post(hub.url(paths::SESSIONS))
        .header(paths::CLIENT_HEADER, "renkei/0.1.0")
        .json(&LoginRequest { login: hub.offices[0].staff.clone(), password: "x".into() })
        .send()
        .await
        .unwrap();
    assert_eq!(error(r).await.code, ErrorCode::ClientOutdated);
    hub.stop().await;
}

#[tokio::test]
async fn small_files_travel_with_their_row_large_ones_in_the_blob_store() {
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let to = hub.offices[1].number.clone();
    let limit = renkei_hub::blobs::INLINE_MAX_BYTES;
    let mut files = slip_unit(&hub, 0, 1, 7);
    files.push(("ちょうど.txt".into(), vec![b'a'; limit]));
    files.push(("大きい.txt".into(), vec![b'b'; limit + 1]));
    // A large attachment is spooled to disk as it arrives (hashed on the way), then stored.
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..300_000u32).map(|i| (i % 253) as u8));
    files.push(("大きな資料.pdf".into(), pdf.clone()));
    let s: SendResponse = send(&hub, &a, &ta, &to, &files, None).await.json().await.unwrap();
    // The same small content again, in another message: one stored copy serves both.
    let again: SendResponse = send(&hub, &a, &ta, &to, &files[..files.len() - 2], None).await.json().await.unwrap();
    assert_eq!(again.message.files[0].sha256, s.message.files[0].sha256);
    let blobs = &hub.running.state.blobs;
    for f in &s.message.files {
        let large = f.size as usize > limit;
        assert_eq!(blobs.exists(&f.sha256).await, large, "{} ({} bytes): only files over the limit go to the blob store", f.name, f.size);
    }
    assert_eq!(s.message.files.last().unwrap().sha256, renkei_hub::auth::sha256_hex(&pdf));
    // A refused send and a draft: the spooled file is dropped, or kept for the draft and sent.
    let nobody = renkei_spec::ids::OfficeNumber::from_body("137999999").unwrap().to_string();
    let big = [("別の資料.pdf".to_owned(), [pdf.as_slice(), b"x"].concat())];
    let r = send(&hub, &a, &ta, &nobody, &big, None).await;
    assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());
    assert!(tmp_litter(&hub.dir).is_empty(), "a refused send left its spooled upload: {:?}", tmp_litter(&hub.dir));
    let d: DraftInfo =
        a.post(hub.url(paths::DRAFTS)).bearer_auth(&ta).multipart(form(&to, "", &big)).send().await.unwrap().json().await.unwrap();
    assert!(blobs.exists(&d.files[0].sha256).await);
    let r = a.post(hub.url(&format!("/v1/drafts/{}/send", d.id))).bearer_auth(&ta).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let from_draft: SendResponse = r.json().await.unwrap();
    assert_eq!(from_draft.message.files[0].sha256, renkei_hub::auth::sha256_hex(&big[0].1));
    for m in [&s.message, &again.message, &from_draft.message] {
        for f in &m.files {
            let r = b.get(hub.url(&format!("/v1/messages/{}/files/{}", m.id, f.index))).bearer_auth(&tb).send().await.unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-length"].to_str().unwrap(), f.size.to_string());
            let body = r.bytes().await.unwrap();
            assert_eq!(renkei_hub::auth::sha256_hex(&body), f.sha256, "{}", f.name);
        }
    }
    hub.stop().await;
}
