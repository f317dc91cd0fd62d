//! The web mailbox (`/mailbox`) over HTTPS as a browser uses it: login with password and the
//! second factor, the month's exchange with an office on renkei's API (send, receive, 開封,
//! downloads, データ取得 as ZIP, 帳票表示, contacts, a double click), the same rules as the API,
//! every action audited under the browser's terminal.

use crate::common::*;
use crate::portal::{Browser, csrf_of, totp_code};
use renkei_protocol::*;
use std::io::Read as _;

/// Office `i`'s administrator in the mailbox, the second factor set up on the way (as a clerk
/// meets it: logging in without a code opens the portal's setup page). Returns the browser,
/// the session's CSRF token and the recovery codes.
async fn mailbox_login(hub: &Hub, i: usize) -> (Browser, String, Vec<String>) {
    let login = hub.offices[i].admin.clone();
    let mut b = Browser::new(hub);
    let (s, to, _) = b.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", "")]).await;
    assert_eq!((s, to.as_str()), (303, "/portal/security"), "no second factor yet: set it up first");
    // The mailbox stays shut until it is set up.
    let (s, to, _) = b.get("/mailbox/").await;
    assert_eq!((s, to.as_str()), (303, "/portal/security"));
    let (_, _, page) = b.get("/portal/security").await;
    let (secret, codes) = b.set_up_second_factor("/portal", &csrf_of(&page)).await;
    // A new login: a wrong code is refused with the reason, the right one opens the mailbox.
    let mut b = Browser::new(hub);
    let (s, _, page) =
        b.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", "000000")]).await;
    assert_eq!(s, 200);
    assert!(page.contains("確認コードが違います"), "{page}");
    let (s, _, page) = b.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", "")]).await;
    assert!(s == 200 && page.contains("確認コード（認証アプリに表示される6桁の数字）を入れてください"), "{page}");
    let (s, to, _) = b
        .post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", &totp_code(&secret, 1))])
        .await;
    assert_eq!((s, to.as_str()), (303, "/mailbox/"));
    let (s, _, page) = b.get("/mailbox/").await;
    assert_eq!(s, 200, "{page}");
    (b, csrf_of(&page), codes)
}

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            (f.name().unwrap().to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn an_office_with_only_a_browser_does_the_month_with_an_office_on_the_api() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    // Office 0 on renkei's client (the API), office 1 in the browser.
    let (a, ta) = hub.session(0).await;
    let (b, csrf, _) = mailbox_login(&hub, 1).await;
    let (n0, n1) = (hub.offices[0].number.clone(), hub.offices[1].number.clone());

    let (s, _, top) = b.get("/mailbox/").await;
    assert_eq!(s, 200);
    assert!(top.contains("Webメールボックス") && top.contains(&n1) && top.contains(r#"id="unread"><b>0</b>"#), "{top}");
    assert!(top.contains("/mailbox/static/app.css") && top.contains("ライセンス"), "the shared screens, served by the hub");
    assert!(!top.contains("監視フォルダー"), "no folders on the web");
    assert!(!top.contains("unread-badge") && top.contains("/mailbox/news?seen=0"), "no badge while nothing waits; the live line polls");
    let (s, _, news) = b.get("/mailbox/news?seen=0").await;
    assert!(s == 200 && news.is_empty(), "{news}");

    // Office 0 sends the month's slips (and a PDF): the browser's inbox shows them.
    let mut files = slip_unit(&hub, 0, 1, 1);
    files.push(("計画書の説明.pdf".into(), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n".to_vec()));
    let r = send(&hub, &a, &ta, &n1, &files, None).await;
    assert_eq!(r.status(), 201);
    let sent: SendResponse = r.json().await.unwrap();
    let id = sent.message.id.clone();
    // The page already open hears of it (its live line polls); every page's 受信一覧 has the count.
    let (_, _, news) = b.get("/mailbox/news?seen=0").await;
    assert!(news.contains("新しいメッセージが届きました（未取得 1 件）") && news.contains("/mailbox/inbox"), "{news}");
    assert!(b.get("/mailbox/news?seen=1").await.2.is_empty(), "nothing new since the page showed 1");
    let (_, _, top) = b.get("/mailbox/").await;
    assert!(top.contains(r#"id="unread"><b>1</b>"#) && top.contains(r#"id="unread-badge">1<"#), "{top}");
    let (s, _, list) = b.get("/mailbox/inbox").await;
    assert_eq!(s, 200);
    assert!(list.contains(&format!("/mailbox/inbox/{id}")) && list.contains("未取得") && list.contains("新着"), "{list}");
    assert!(list.contains("UPPLAN_202506") && list.contains("登録") && list.contains("202407"), "the national client's columns");
    let (_, _, filtered) = b.get("/mailbox/inbox?kind=UPJSK").await;
    assert!(!filtered.contains(&format!("/mailbox/inbox/{id}")), "filters work");
    let (s, _, bad) = b.get("/mailbox/inbox?month=2025-06").await;
    assert!(s == 400 && bad.contains("絞り込みの「month」が正しくありません"), "{s} {bad}");

    // 受信詳細: viewing it is its 開封; the sender sees 開封, not yet 取得.
    let (s, _, detail) = b.get(&format!("/mailbox/inbox/{id}")).await;
    assert_eq!(s, 200);
    assert!(detail.contains("帳票を表示") && detail.contains("計画書の説明.pdf") && detail.contains("未取得"), "{detail}");
    let m: MessageInfo = a.get(hub.url(&format!("/v1/messages/{id}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(m.opened_at.is_some() && m.fetched_at.is_none(), "{m:?}");
    // Another office's page of it: 送信詳細 is not the recipient's.
    assert_eq!(b.get(&format!("/mailbox/sent/{id}")).await.0, 404);

    // One file downloads as sent; a download alone is not データ取得.
    let idx = sent.message.files.iter().find(|f| f.name.starts_with("UPPLAN")).unwrap().index;
    let (s, ct, cd, bytes) = b.fetch_file(&format!("/mailbox/messages/{id}/files/{idx}"), None).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv") && cd.starts_with("attachment"), "{ct} {cd}");
    assert_eq!(bytes, files.iter().find(|f| f.0.starts_with("UPPLAN")).unwrap().1);
    // 帳票表示: 第6表 as its grid.
    let (s, _, form) = b.get(&format!("/mailbox/messages/{id}/files/{idx}/form")).await;
    assert!(s == 200 && form.contains("サービス利用票（予定）") && form.contains("slip-grid"), "{form}");

    // データ取得: a ZIP of the message's files, and 取得済 for both sides.
    let (s, ct, cd, zip) = b.fetch_file(&format!("/mailbox/inbox/{id}/fetch"), Some(&[("csrf", &csrf)])).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&zip));
    assert!(ct == "application/zip" && cd.contains(".zip"), "{ct} {cd}");
    let mut got = unzip(&zip);
    got.sort();
    let mut want = files.clone();
    want.sort();
    assert_eq!(got, want, "every file, as sent");
    let m: MessageInfo = a.get(hub.url(&format!("/v1/messages/{id}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::Opened, "取得済・開封済");
    // Without the session's token, nothing is taken.
    let (s, _, _, _) = b.fetch_file(&format!("/mailbox/inbox/{id}/fetch"), Some(&[("csrf", "wrong")])).await;
    assert_eq!(s, 403);

    // Two more: 一括取得 takes both in one ZIP, then there is nothing left.
    let mut more = Vec::new();
    for seq in [2, 3] {
        let r = send(&hub, &a, &ta, &n1, &slip_unit(&hub, 0, 1, seq), None).await;
        assert_eq!(r.status(), 201);
        more.push(r.json::<SendResponse>().await.unwrap().message.id);
    }
    let (s, _, _, zip) = b.fetch_file("/mailbox/fetch-all", Some(&[("csrf", &csrf)])).await;
    assert_eq!(s, 200);
    assert_eq!(unzip(&zip).len(), 6, "two messages of three files");
    let (_, _, list) = b.get("/mailbox/inbox?status=not_fetched").await;
    assert!(list.contains("該当するメッセージはありません"), "{list}");
    let (s, _, page) = b.post_form("/mailbox/fetch-all", &[("csrf", &csrf)]).await;
    assert!(s == 200 && page.contains("未取得のメッセージはありません"), "{page}");

    // 新規作成: office 1 sends its 実績 back, a double click stores one message.
    let back = actual_unit(&hub, 1, 0, 1);
    let (_, _, compose) = b.get("/mailbox/compose").await;
    let key = compose.split(r#"name="idem" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(key.len() >= 20, "the form carries its own key");
    let web_form = |files: &[(String, Vec<u8>)]| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("idem", key.clone())
            .text("to", n0.clone())
            .text("purpose", "free")
            .text("subject", "")
            .text("note", "実績を送ります");
        for (n, bytes) in files {
            f = f.part("file", reqwest::multipart::Part::bytes(bytes.clone()).file_name(n.clone()));
        }
        f
    };
    let (s, to, page) = b.post_multipart("/mailbox/compose", web_form(&back)).await;
    assert_eq!(s, 303, "{page}");
    assert!(to.starts_with("/mailbox/sent/") && to.ends_with("?sent=1"), "{to}");
    let (s, to2, _) = b.post_multipart("/mailbox/compose", web_form(&back)).await;
    assert_eq!((s, to2.as_str()), (303, to.as_str()), "the same form twice is one message");
    let (_, _, detail) = b.get(&to).await;
    assert!(detail.contains("送信しました") && detail.contains("未取得"), "{detail}");
    let inbox: MessagePage = a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(inbox.messages.len(), 1, "one message reached office 0");
    assert_eq!(inbox.messages[0].sender, n1);
    assert_eq!(inbox.messages[0].files.len(), back.len());

    // A contact without files (今月利用なし); a form that breaks the rules keeps what was typed.
    let contact = |person: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("idem", "contact-1")
            .text("to", n0.clone())
            .text("purpose", "no_use")
            .text("month", "202507")
            .text("subject", person.to_owned())
            .text("note", "")
            // A file input with nothing chosen: an empty, nameless part, which is no file.
            .part("file", reqwest::multipart::Part::bytes(Vec::new()).file_name(""))
    };
    let (s, _, page) = b.post_multipart("/mailbox/compose", contact("")).await;
    assert!(s == 200 && page.contains(r#"role="alert""#) && page.contains(r#"value="202507""#), "{page}");
    let (s, to, _) = b.post_multipart("/mailbox/compose", contact("0000012345")).await;
    assert_eq!(s, 303);
    let (_, _, detail) = b.get(&to).await;
    assert!(detail.contains("今月利用なし") && detail.contains("メッセージのみ"), "{detail}");
    // A file for another office is refused with the file and the reason, and nothing is stored.
    let broken = actual_unit(&hub, 1, 2, 2);
    let (s, _, page) = b
        .post_multipart(
            "/mailbox/compose",
            reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .text("idem", "broken")
                .text("to", n0.clone())
                .part("file", reqwest::multipart::Part::bytes(broken[0].1.clone()).file_name(broken[0].0.clone())),
        )
        .await;
    assert!(s == 200 && page.contains(r#"role="alert""#) && page.contains("もう一度選んでください"), "{s} {page}");
    assert!(page.contains(&broken[0].0) && page.contains("宛先"), "the file and the reason: {page}");
    let inbox: MessagePage = a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(inbox.messages.len(), 2, "nothing stored of a refused send");

    // The check as files are chosen: each file's verdict, by the hub's own checks.
    let (s, _, verdicts) = b
        .post_multipart(
            "/mailbox/compose/check",
            reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .text("to", n0.clone())
                .part("file", reqwest::multipart::Part::bytes(back[0].1.clone()).file_name(back[0].0.clone()))
                .part("file", reqwest::multipart::Part::bytes(broken[0].1.clone()).file_name(broken[0].0.clone())),
        )
        .await;
    assert_eq!(s, 200);
    assert!(verdicts.contains("送信できます") && verdicts.contains("エラー"), "{verdicts}");
    let (_, _, lookup) = b.get(&format!("/mailbox/lookup?to={n0}")).await;
    assert!(lookup.contains(&hub.offices[0].name), "{lookup}");

    // 下書き: saved with a file, listed, opened, a file taken out, sent once.
    let extra = actual_unit(&hub, 1, 0, 3);
    let draft_form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("to", n0.clone())
        .text("purpose", "free")
        .text("note", "下書きです")
        .text("action", "draft")
        .part("file", reqwest::multipart::Part::bytes(extra[0].1.clone()).file_name(extra[0].0.clone()));
    let (s, to, _) = b.post_multipart("/mailbox/compose", draft_form).await;
    assert_eq!((s, to.as_str()), (303, "/mailbox/drafts?saved=1"));
    let (_, _, list) = b.get(&to).await;
    assert!(list.contains("下書きを保存しました") && list.contains(&extra[0].0) && list.contains("下書きです"), "{list}");
    let draft = list.split(r#"href="/mailbox/drafts/"#).nth(1).unwrap().split('"').next().unwrap().to_owned();
    let (s, _, edit) = b.get(&format!("/mailbox/drafts/{draft}")).await;
    assert!(s == 200 && edit.contains(&extra[0].0) && edit.contains(r#"name="draft""#), "{edit}");
    // The API sees the same draft (shared by the office's terminals and the browser).
    let (c1, t1) = hub.session(1).await;
    let listed: Vec<DraftInfo> = c1.get(hub.url(paths::DRAFTS)).bearer_auth(&t1).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.len(), 1);
    let (s, to, _) = b.post_form(&format!("/mailbox/drafts/{draft}/send"), &[("csrf", &csrf)]).await;
    assert!(s == 303 && to.starts_with("/mailbox/sent/"), "{s} {to}");
    let (s, to2, _) = b.post_form(&format!("/mailbox/drafts/{draft}/send"), &[("csrf", &csrf)]).await;
    assert!(s == 303 && to2 == to || s == 404 || s == 200, "sending a sent draft again stores nothing new: {s} {to2}");
    let inbox: MessagePage = a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(inbox.messages.len(), 3, "the draft arrived once");
    let (_, _, list) = b.get("/mailbox/drafts").await;
    assert!(list.contains("下書きはありません"), "{list}");

    // 一括送信 from a ZIP: office 0's unit is sent, a partner not on the system is not (said
    // so), a PDF has no destination; the same ZIP again sends nothing twice.
    let unit = actual_unit(&hub, 1, 0, 4);
    let absent = renkei_testkit::Office {
        number: renkei_spec::ids::OfficeNumber::parse(&renkei_testkit::registry_number(13, 77), false).unwrap(),
        kind: renkei_spec::ids::ServiceKind::parse("43").unwrap(),
        name: "未参加".into(),
    };
    let mut g = renkei_testkit::Generator::new(5);
    let month = renkei_spec::calendar::YearMonth::new(2025, 6).unwrap();
    let clients = g.clients(1, 13, month);
    let seq = renkei_spec::calendar::FileSeq::parse("20250703090000").unwrap();
    let other = g.actual_unit(&hub.office(1), &absent, &clients, month, seq);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, bytes) in unit.iter().map(|(n, b)| (n.clone(), b.clone())).chain(other.iter().map(|f| (f.name.clone(), f.bytes.clone()))) {
        zip.start_file(n, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &bytes).unwrap();
    }
    let zip = zip.finish().unwrap().into_inner();
    let bulk = |path: &'static str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(zip.clone()).file_name("6月分実績.zip"))
            .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name("説明.pdf"));
        let b = b.clone();
        async move { b.post_multipart(path, form).await }
    };
    let (s, _, plan) = bulk("/mailbox/bulk/check").await;
    assert_eq!(s, 200);
    assert!(plan.contains("2 件の送信先に分けました") && plan.contains("送信できます"), "{plan}");
    assert!(plan.contains("データでは送れません") && plan.contains("見つかりません") && plan.contains("説明.pdf"), "{plan}");
    let (s, _, done) = bulk("/mailbox/bulk/send").await;
    assert_eq!(s, 200);
    assert!(done.contains("1 ファイルを送信しました") && done.contains("送りません。"), "{done}");
    let (_, _, again) = bulk("/mailbox/bulk/send").await;
    assert!(again.contains("送信済みです（二重には送りません）"), "{again}");
    let inbox: MessagePage = a.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert_eq!(inbox.messages.len(), 4, "one message from the ZIP, once");

    // The partner not on the system: its forms print as one bundle with the invitation letter
    // (the same ZIP posted to 郵送・FAX用に印刷), and the office records that it sent it.
    let an = absent.number.to_string();
    let print = |to: String| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(zip.clone()).file_name("6月分実績.zip"));
        let b = b.clone();
        async move { b.post_multipart(&format!("/mailbox/bulk/partner?to={to}"), form).await }
    };
    let (s, _, bundle) = print(an.clone()).await;
    assert_eq!(s, 200, "{bundle}");
    assert!(
        bundle.contains("ケアプランデータ連携への参加のご案内") && bundle.contains(&format!("ご担当者 御中（事業所番号 {an}）")),
        "{bundle}"
    );
    assert!(
        bundle.contains(&format!("{}/portal/login", hub.url(""))) && bundle.contains(&format!("{}/mailbox/", hub.url(""))),
        "the letter says where to join"
    );
    assert_eq!(
        bundle.matches("class=\"form-file\"").count(),
        other.len(),
        "one form per file for this partner, none of office 0's: {bundle}"
    );
    assert!(bundle.contains("サービス提供票（実績）") && !bundle.contains(&unit[0].0), "{bundle}");
    assert!(bundle.contains("action=\"/mailbox/bulk/invited\"") && !bundle.contains("前回の記録"), "{bundle}");
    let (s, _, digital) = print(n0.clone()).await;
    assert!(s == 409 && digital.contains("データのまま送れます"), "a partner on the system gets no paper: {s} {digital}");
    let (s, _, none) = print("1312345678".into()).await;
    assert!(s == 404 && none.contains("この送信先のファイルがありません"), "{s} {none}");
    let (s, to, _) = b.post_form("/mailbox/bulk/invited", &[("csrf", &csrf), ("to", &an)]).await;
    assert_eq!((s, to.as_str()), (303, format!("/mailbox/bulk?invited={an}").as_str()));
    let (_, _, page) = b.get(&format!("/mailbox/bulk?invited={an}")).await;
    assert!(page.contains(&format!("事業所（{an}）に参加のご案内を送ったことを記録しました")), "{page}");
    let (_, _, plan) = bulk("/mailbox/bulk/check").await;
    assert!(plan.contains(&format!("id=\"invited-at-{an}\"")) && plan.contains("参加のご案内を送りました"), "{plan}");
    let (_, _, bundle) = print(an.clone()).await;
    assert!(bundle.contains("前回の記録"), "{bundle}");
    for (to, status, says) in
        [(n0.as_str(), 409, "データで送れます"), (n1.as_str(), 400, "自分の事業所"), ("13000000", 400, "事業所番号（10桁）")]
    {
        let (s, _, page) = b.post_form("/mailbox/bulk/invited", &[("csrf", &csrf), ("to", to)]).await;
        assert!(s == status && page.contains(says), "{to}: {s} {page}");
    }
    let (s, _, _) = b.post_form("/mailbox/bulk/invited", &[("csrf", "wrong"), ("to", &an)]).await;
    assert_eq!(s, 403, "CSRF as everywhere in the mailbox");
    let rows = st.store.audit_search(Some("mailbox.invite"), Some(&n1), 20).await.unwrap();
    assert!(
        rows.len() == 1 && rows[0].detail.contains(&format!("partner={an}")) && rows[0].terminal_id.as_deref() == Some("web"),
        "{rows:?}"
    );
    assert_eq!(st.store.invitation(&n0, &an).await.unwrap(), None, "another office's invitations are its own");

    // 送信一覧 shows what office 0 did with them.
    let (_, _, sent_list) = b.get("/mailbox/sent").await;
    assert!(sent_list.contains("今月利用なし") && sent_list.contains("未取得"), "{sent_list}");

    // 予実突合 from the provider's side: the 予定 it received against the 実績 it sent.
    let (s, _, rec) = b.get(&format!("/mailbox/reconcile?month=202506&partner={n0}")).await;
    assert_eq!(s, 200);
    assert!(rec.contains(r#"id="summary""#) && rec.contains("予定 ") && rec.contains("実績 "), "{rec}");
    assert!(!rec.contains("予定 0 行"), "the plan's lines for this provider are compared: {rec}");
    let (_, _, rec) = b.get(&format!("/mailbox/reconcile?month=202507&partner={n0}")).await;
    assert!(rec.contains("記録がありません"), "{rec}");
    let (_, _, rec) = b.get("/mailbox/reconcile?month=2025-6&partner=x").await;
    assert!(rec.contains("対象年月（例: 202506）"), "{rec}");

    // Audited as the user's, through the browser.
    for action in ["fetch", "open", "send"] {
        let rows = st.store.audit_search(Some(action), Some(&n1), 20).await.unwrap();
        assert!(rows.iter().any(|r| r.terminal_id.as_deref() == Some("web")), "{action}: {rows:?}");
    }
    let logins = st.store.audit_search(Some("portal.login"), Some(&n1), 20).await.unwrap();
    assert!(logins.iter().any(|r| r.detail.contains("door=mailbox")), "{logins:?}");

    // Logging out ends the session: the mailbox asks for a login again.
    let mut out = b.clone();
    let (s, to, _) = out.post("/mailbox/logout", &[("csrf", &csrf)]).await;
    assert_eq!((s, to.as_str()), (303, "/mailbox/login"));
    assert_eq!(b.get("/mailbox/inbox").await.1, "/mailbox/login");
    hub.stop().await;
}

#[tokio::test]
async fn the_mailbox_shows_only_the_offices_own_mail_and_closes_with_its_second_factor() {
    let hub = Hub::start().await;
    // A message between offices 0 and 2: office 1's mailbox must not reach it by any route.
    let (a, ta) = hub.session(0).await;
    let r = send(&hub, &a, &ta, &hub.offices[2].number, &slip_unit(&hub, 0, 2, 1), None).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<SendResponse>().await.unwrap().message.id;
    let (b, csrf, codes) = mailbox_login(&hub, 1).await;
    for path in [
        format!("/mailbox/inbox/{id}"),
        format!("/mailbox/sent/{id}"),
        format!("/mailbox/messages/{id}/files/1"),
        format!("/mailbox/messages/{id}/files/1/form"),
    ] {
        assert_eq!(b.get(&path).await.0, 404, "{path}");
    }
    let (s, _, _, _) = b.fetch_file(&format!("/mailbox/inbox/{id}/fetch"), Some(&[("csrf", &csrf)])).await;
    assert_eq!(s, 404);
    let (s, _, _, _) = b.fetch_file("/mailbox/fetch-selected", Some(&[("csrf", &csrf), ("id", &id)])).await;
    assert_eq!(s, 404);
    let m: MessageInfo = a.get(hub.url(&format!("/v1/messages/{id}"))).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(m.opened_at.is_none() && m.fetched_at.is_none(), "untouched: {m:?}");
    // Another site's form is refused even with the cookie (Origin), and so is a form without the token.
    let (s, _, _) = b.post_multipart("/mailbox/compose", reqwest::multipart::Form::new().text("to", "x")).await;
    assert_eq!(s, 403);
    // Turning the second factor off closes the mailbox at once, in this very session.
    let mut p = b.clone();
    let (_, _, page) = p.get("/portal/security").await;
    let (_, _, page) = p.post("/portal/security/disable", &[("csrf", &csrf_of(&page)), ("code", &codes[0])]).await;
    assert!(page.contains("2段階認証をやめました"), "{page}");
    assert_eq!(b.get("/mailbox/inbox").await.1, "/portal/security");
    hub.stop().await;
}

/// DER as PEM (what a browser's certificate store holds after importing the file).
fn pem(label: &str, der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in der.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() { B64[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    let lines: Vec<&str> = out.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// ブラウザー用の電子証明書: the office's administrator issues one in the portal (second factor
/// passed) as a password-protected PKCS#12 file; from then on the office's web mailbox opens
/// only over a connection that presents one of the office's certificates — at login and on
/// every request of a session already open — until every browser certificate is revoked.
#[tokio::test]
async fn an_office_with_a_browser_certificate_opens_its_mailbox_only_with_it() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let (b, csrf, codes) = mailbox_login(&hub, 1).await;
    let (n1, login) = (hub.offices[1].number.clone(), hub.offices[1].admin.clone());
    let pass = "受付のPCに入れる";
    let issue = |label: &'static str, p1: &'static str, p2: &'static str| {
        let (b, csrf) = (b.clone(), csrf.clone());
        async move {
            b.post_download("/portal/terminals/browser", &[("csrf", &csrf), ("label", label), ("password", p1), ("password2", p2)]).await
        }
    };
    let (s, _, page) = issue("受付のPC", "12345678", "12345679").await;
    assert!(s == 200 && String::from_utf8_lossy(&page).contains("確認用と一致しません"));
    let (s, _, page) = issue("受付のPC", "short", "short").await;
    assert!(s == 200 && String::from_utf8_lossy(&page).contains("8文字以上"));
    let (s, _, page) = issue("", "12345678", "12345678").await;
    assert!(s == 200 && String::from_utf8_lossy(&page).contains("パソコンの名前"));
    assert!(st.store.terminal_details(&n1).await.unwrap().iter().all(|t| !t.browser), "nothing issued on a refusal");
    let (s, ctype, p12) = issue("受付のPC", pass, pass).await;
    assert_eq!((s, ctype.as_str()), (200, "application/x-pkcs12"));
    assert!(p12_keystore::KeyStore::from_pkcs12(&p12, "wrong password", p12_keystore::Pkcs12ImportPolicy::Strict).is_err());
    let store = p12_keystore::KeyStore::from_pkcs12(&p12, pass, p12_keystore::Pkcs12ImportPolicy::Strict).unwrap();
    let (_, chain) = store.private_key_chain().expect("the key and its chain");
    assert_eq!(chain.certs().len(), 2, "the certificate and the hub's CA");
    assert!(chain.certs()[0].subject().contains(&n1), "{}", chain.certs()[0].subject());
    let key = rcgen::KeyPair::try_from(chain.key().as_der()).unwrap().serialize_pem();
    let identity = reqwest::Identity::from_pem(format!("{}{key}", pem("CERTIFICATE", chain.certs()[0].as_der())).as_bytes()).unwrap();
    let issued = st.store.terminal_details(&n1).await.unwrap().into_iter().find(|t| t.browser).expect("stored as the office's");
    assert_eq!(issued.label, "ブラウザー: 受付のPC");
    let audit = st.store.audit_search(Some("enrol"), Some(&n1), 5).await.unwrap();
    assert!(audit.iter().any(|r| r.detail.contains("browser") && r.terminal_id.as_deref() == Some(issued.id.as_str())), "{audit:?}");

    // The session opened without a certificate is shut at its next request.
    let (s, _, page) = b.get("/mailbox/inbox").await;
    assert!(s == 403 && page.contains("電子証明書を入れたブラウザー"), "{s} {page}");
    // A login without the certificate is refused with the reason, after the password and code.
    let mut bare = Browser::new(&hub);
    let (s, _, page) =
        bare.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", &codes[0])]).await;
    assert!(s == 200 && page.contains("電子証明書を入れたブラウザー"), "{page}");
    // Another office's certificate is not this office's.
    let other = {
        let d = &hub.offices[0].terminal_dir;
        let mut pem = std::fs::read(d.join("terminal.pem")).unwrap();
        pem.extend(std::fs::read(d.join("terminal.key")).unwrap());
        reqwest::Identity::from_pem(&pem).unwrap()
    };
    let mut wrong = Browser::with_certificate(&hub, Some(other));
    let (s, _, page) =
        wrong.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", &codes[1])]).await;
    assert!(s == 200 && page.contains("電子証明書を入れたブラウザー"), "{page}");
    // With the certificate in the browser: the mailbox opens.
    let mut with = Browser::with_certificate(&hub, Some(identity));
    let (s, to, _) =
        with.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", &codes[2])]).await;
    assert_eq!((s, to.as_str()), (303, "/mailbox/"));
    let (s, _, top) = with.get("/mailbox/").await;
    assert!(s == 200 && top.contains("未取得の受信"), "{top}");
    // Office 0 has no browser certificate: its mailbox needs none.
    let (b0, _, _) = mailbox_login(&hub, 0).await;
    assert_eq!(b0.get("/mailbox/inbox").await.0, 200);
    // The portal lists it; revoking the office's only browser certificate lifts the rule.
    let (_, _, terminals) = with.get("/portal/terminals").await;
    assert!(terminals.contains("ブラウザー: 受付のPC") && terminals.contains("id=\"mailbox-certificate-on\""), "{terminals}");
    let csrf2 = csrf_of(&top);
    let mut admin = with.clone();
    let (s, _, page) = admin.post(&format!("/portal/terminals/{}/revoke", issued.id), &[("csrf", &csrf2)]).await;
    assert!(s == 200 && page.contains("失効させました"), "{page}");
    assert!(!st.store.has_browser_certificate(&n1).await.unwrap());
    let mut bare = Browser::new(&hub);
    let (s, to, _) =
        bare.post("/mailbox/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD), ("code", &codes[3])]).await;
    assert_eq!((s, to.as_str()), (303, "/mailbox/"), "no browser certificate left: none needed");
    hub.stop().await;
}
