//! The portal's public pages over HTTPS without a client certificate: the registry import, 利用状況
//! with the right shares, the searchable list of participating offices.

use crate::common::Hub;
use renkei_hub::store::Office;
use renkei_testkit::{prefecture_figures, registry_csv, registry_number};

/// The 2023 national figures at 1/20 scale: every prefecture's offices and users divided by 20.
const SCALE: u32 = 20;

#[tokio::test]
async fn usage_shows_each_prefectures_share_and_the_list_finds_participants() {
    let hub = Hub::start().await;
    let store = &hub.running.state.store;
    let figures = prefecture_figures();
    assert_eq!(figures.len(), 47);
    let csv = registry_csv(&figures, |f| f.offices / SCALE);
    let mut progress = Vec::new();
    let report = renkei_hub::registry::import(store, &csv, 1, 1000, |d, t| progress.push((d, t))).await.unwrap();
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..report.errors.len().min(3)]);
    let expected_rows: u32 = figures.iter().map(|f| f.offices / SCALE).sum();
    assert_eq!(report.imported as u32, expected_rows);
    assert_eq!(progress.last().copied(), Some((expected_rows as usize, expected_rows as usize)), "progress reaches the end");
    // Participants: the first using/20 registry offices of each prefecture hold a license.
    let until = time::OffsetDateTime::now_utc().date().saturating_add(time::Duration::days(300)).to_string();
    for f in &figures {
        for i in 0..f.using / SCALE {
            let number = registry_number(f.code, i);
            store
                .upsert_office(
                    &Office {
                        number,
                        name: format!("{}参加事業所{i}", f.name),
                        kinds: vec!["43".into()],
                        license_until: Some(until.clone()),
                    },
                    1,
                    Default::default(),
                )
                .await
                .unwrap();
        }
    }
    let web = hub.anonymous();
    let r = web.get(hub.url("/usage")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    let page = r.text().await.unwrap();
    for f in &figures {
        let (total, using) = (f.offices / SCALE, f.using / SCALE);
        let name = renkei_hub::registry::prefecture_name(i32::from(f.code));
        // Demo offices (Tokyo: three) participate too.
        let using = using + if f.code == 13 { 3 } else { 0 };
        let share = renkei_hub::web::portal::public::share(i64::from(using), i64::from(total));
        let row =
            format!(r#"<tr><td>{name}</td><td class="num">{total}</td><td class="num">{using}</td><td class="num">{share}</td></tr>"#);
        assert!(page.contains(&row), "missing {row}");
    }
    assert!(page.contains("<svg") && page.matches("<rect").count() == 47);
    assert!(!page.contains("事業所台帳がまだ取り込まれていない"));
    // 北海道 at 1/20: 370 offices, 14 participating → 3.8%.
    assert!(page.contains(r#"<td>北海道</td><td class="num">370</td><td class="num">14</td><td class="num">3.8%</td>"#), "Hokkaido row");

    // The public list: by prefecture and name, by number, by kind; expired or unknown offices are not listed.
    let list = web.get(hub.url("/offices?pref=1&q=参加事業所1")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(&registry_number(1, 1)) && list.contains("北海道市2丁目"), "address from the registry");
    assert!(!list.contains(&registry_number(13, 1)), "another prefecture");
    let one = registry_number(27, 0);
    let list = web.get(hub.url(&format!("/offices?q={one}"))).send().await.unwrap().text().await.unwrap();
    assert!(list.contains(r#"id="reach""#) && list.contains("データで届きます"), "a participant is reachable: {list}");
    // A registry office not on the system: found, and said to be reached by post or FAX.
    let absent = registry_number(27, figures.iter().find(|f| f.code == 27).unwrap().offices / SCALE - 1);
    let wide: String = absent.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c)).collect();
    let page = web.get(hub.url(&format!("/offices?q={wide}"))).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("まだケアプランデータ連携に参加していません") && page.contains("郵送・FAX"), "{page}");
    let page = web.get(hub.url("/offices?q=1399999999")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("見つかりません"), "an unknown number: {page}");
    assert!(list.contains("1 事業所") && list.contains("大阪府"), "by number");
    let list = web.get(hub.url("/offices?kind=15")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("1372000024") && list.contains("ひまわりデイサービス") && list.contains("1 事業所"), "by kind");
    // As people type: full-width digits, katakana for hiragana, half-width kana, words in any
    // order separated by spaces (ideographic ones too) — all must match.
    for q in ["１３７１", "サクラ", "ｻｸﾗ", "さくら 居宅", "居宅　さくら"] {
        let list = web.get(hub.url("/offices")).query(&[("q", q)]).send().await.unwrap().text().await.unwrap();
        assert!(list.contains("1371000017") && list.contains("さくら居宅介護支援事業所"), "{q}");
    }
    let list = web.get(hub.url("/offices")).query(&[("q", "さくら デイ")]).send().await.unwrap().text().await.unwrap();
    assert!(!list.contains("1371000017"), "every word must match");
    let list = web.get(hub.url("/offices?q=%3Cscript%3E")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("&#60;script&#62;") || list.contains("&lt;script&gt;"), "escaped");
    assert!(!list.contains("<script>"));
    // The top page: status and notices, without a certificate.
    let top = web.get(hub.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(top.contains("正常に稼働しています") && top.contains("参加事業所"), "status");
    assert!(top.contains(r#"href="/portal/login""#) && top.contains("事業所ログイン"), "the way in for offices");
    hub.stop().await;
}

/// A browser as far as cookies go: keeps `renkei_portal`, follows nothing by itself.
#[derive(Clone)]
pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    pub(crate) fn new(hub: &Hub) -> Browser {
        Browser::with_certificate(hub, None)
    }
    /// A browser that presents a client certificate (a browser certificate imported into it).
    pub(crate) fn with_certificate(hub: &Hub, identity: Option<reqwest::Identity>) -> Browser {
        let mut http = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(hub.running.state.ca.cert_pem.as_bytes()).unwrap()])
            .resolve("localhost", hub.running.addr)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(id) = identity {
            http = http.identity(id);
        }
        Browser { http: http.build().unwrap(), base: hub.url(""), cookie: None }
    }
    pub(crate) async fn get(&self, path: &str) -> (u16, String, String) {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.unwrap();
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        // Bytes as they came (text() would drop a BOM).
        let status = r.status().as_u16();
        let body = String::from_utf8(r.bytes().await.unwrap().to_vec()).unwrap();
        assert!(!body.contains("csrf="), "{path}: a CSRF token in a URL of the page");
        (status, loc, body)
    }
    /// A form posted, its answer as bytes with its content type (a download).
    pub(crate) async fn post_download(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
        let mut r = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.unwrap();
        let ctype = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (r.status().as_u16(), ctype, r.bytes().await.unwrap().to_vec())
    }
    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        let mut r = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.unwrap();
        if let Some(c) = r.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
            self.cookie = Some(c.split(';').next().unwrap().to_owned());
        }
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        assert!(!body.contains("csrf=") && !loc.contains("csrf="), "{path}: a CSRF token in a URL of the answer");
        (status, loc, body)
    }
    /// A GET, or a POST with a form (the CSRF token first) that fills every field the portal's and the console's forms
    /// read (with values that change nothing for good: a wrong code, a wrong password).
    pub(crate) async fn request(mut self, method: reqwest::Method, path: &str, csrf: &str) -> (u16, String, String) {
        let form = [
            ("csrf", csrf),
            ("name", "試験"),
            ("on", "0"),
            ("code", "000000"),
            ("current", "x"),
            ("new", "y"),
            ("again", "y"),
            ("title", ""),
            ("body", ""),
        ];
        if method == reqwest::Method::GET { self.get(path).await } else { self.post(path, &form).await }
    }
}

/// The current TOTP code for a secret shown on the setup page (`offset` steps ahead: a step
/// is accepted once, so a second use within 30 seconds takes the next one).
pub(crate) fn totp_code(secret: &str, offset: u64) -> String {
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    renkei_hub::service::second_factor::code_at(secret, now + offset * 30).unwrap()
}

impl Browser {
    /// A multipart POST (a file form), the session's cookie with it.
    pub(crate) async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> (u16, String, String) {
        let mut r = self.http.post(format!("{}{path}", self.base)).multipart(form);
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.unwrap();
        let loc = r.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (r.status().as_u16(), loc, r.text().await.unwrap())
    }

    /// A form POST that keeps the session (no cookie of its own).
    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
        self.clone().post(path, form).await
    }

    /// A POST (form) or GET whose answer is a file: status, content type, content disposition, bytes.
    pub(crate) async fn fetch_file(&self, path: &str, form: Option<&[(&str, &str)]>) -> (u16, String, String, Vec<u8>) {
        let url = format!("{}{path}", self.base);
        let mut r = match form {
            Some(f) => self.http.post(url).form(f),
            None => self.http.get(url),
        };
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        let r = r.send().await.unwrap();
        let h = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let (ct, cd) = (h("content-type"), h("content-disposition"));
        (r.status().as_u16(), ct, cd, r.bytes().await.unwrap().to_vec())
    }

    /// Sets up the second factor through the pages under `prefix` (`/portal`, `/operator`);
    /// returns the secret and the recovery codes shown once.
    pub(crate) async fn set_up_second_factor(&mut self, prefix: &str, csrf: &str) -> (String, Vec<String>) {
        let (s, _, page) = self.post(&format!("{prefix}/security/start"), &[("csrf", csrf)]).await;
        assert_eq!(s, 200, "{page}");
        assert!(page.contains("<svg"), "a QR code drawn on the page");
        let secret = page.split(r#"id="totp-secret">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
        let (_, _, page) = self.post(&format!("{prefix}/security/confirm"), &[("csrf", csrf), ("code", &totp_code(&secret, 0))]).await;
        assert!(page.contains("2段階認証を設定しました"), "{page}");
        let codes: Vec<String> = page.split("<li><code>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect();
        assert_eq!(codes.len(), 10, "ten recovery codes");
        (secret, codes)
    }
}

pub(crate) fn csrf_of(page: &str) -> String {
    page.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_office_logs_in_changes_its_temporary_password_and_applies() {
    let hub = Hub::start().await;
    let store = &hub.running.state.store;
    let number = renkei_spec::ids::OfficeNumber::from_body("131010001").unwrap().to_string();
    store
        .upsert_office(
            &Office { number: number.clone(), name: "新規居宅介護支援".into(), kinds: vec!["43".into()], license_until: None },
            1,
            Default::default(),
        )
        .await
        .unwrap();
    let hash = renkei_hub::auth::hash_password("Kari2026pass").unwrap();
    let admin = format!("KJ{number}01");
    store
        .add_user(
            &renkei_hub::store::NewUser {
                login: &admin,
                office: &number,
                role: renkei_hub::store::Role::Admin,
                name: "管理者",
                password_hash: &hash,
                must_change: true,
            },
            1,
            Default::default(),
        )
        .await
        .unwrap();
    let mut b = Browser::new(&hub);
    // Not logged in: to the login page.
    assert_eq!(b.get("/portal/home").await.1, "/portal/login");
    let (_, _, page) = b.post("/portal/login", &[("login", &admin), ("password", "wrong1234")]).await;
    assert!(page.contains("3回続けて間違えると、そのIDは30分間ログインできなくなります"), "lockout warning");
    let (s, to, _) = b.post("/portal/login", &[("login", &admin), ("password", "Kari2026pass")]).await;
    assert_eq!((s, to.as_str()), (303, "/portal/password"), "a temporary password leads to the change");
    assert_eq!(b.get("/portal/apply").await.1, "/portal/password", "nothing else first");
    let (_, _, page) = b.get("/portal/password").await;
    let csrf = csrf_of(&page);
    // A change without the CSRF token is refused.
    assert_eq!(b.post("/portal/password", &[("current", "Kari2026pass"), ("new", "Shin2026pass"), ("again", "Shin2026pass")]).await.0, 403);
    // A second browser of the same user (say, at home) …
    let mut other = Browser::new(&hub);
    other.post("/portal/login", &[("login", &admin), ("password", "Kari2026pass")]).await;
    assert_eq!(other.get("/portal/password").await.0, 200);
    let (s, to, _) = b
        .post("/portal/password", &[("csrf", &*csrf), ("current", "Kari2026pass"), ("new", "Shin2026pass"), ("again", "Shin2026pass")])
        .await;
    assert_eq!((s, to.as_str()), (303, "/portal/home"));
    // … is logged out by the change.
    assert_eq!(other.get("/portal/password").await.1, "/portal/login");
    let (_, _, home) = b.get("/portal/home").await;
    assert!(home.contains("まだ利用申請をしていません"), "{home}");

    // 利用申請: the terms must have been read to the end and agreed to.
    let (_, _, apply) = b.get("/portal/apply").await;
    assert!(apply.contains("第11条") && apply.contains("disabled") && apply.contains("¥21,000"), "terms, a disabled agreement, the fee");
    let (_, _, page) = b.post("/portal/apply", &[("csrf", &*csrf), ("agree", "on"), ("read", "0")]).await;
    assert!(page.contains("最後まで読み"), "not read to the end");
    let (_, _, page) = b.post("/portal/apply", &[("csrf", &*csrf), ("read", "1")]).await;
    assert!(page.contains("チェックを入れて"), "not agreed");
    // Agreed: first what is bought (period, fee, payment method), nothing stored yet.
    let (_, _, page) = b.post("/portal/apply", &[("csrf", &*csrf), ("agree", "on"), ("read", "1")]).await;
    assert!(page.contains("利用申請の確認") && page.contains("¥21,000") && page.contains("給付費からの差し引き"), "{page}");
    assert!(store.license(&number).await.unwrap().unwrap().applied_at.is_none(), "not before the confirmation");
    let (_, _, page) = b.post("/portal/apply", &[("csrf", &*csrf), ("agree", "on"), ("read", "1"), ("confirm", "1")]).await;
    // The national system's words; 有効期限 「-」 with the reason until the deduction is scheduled.
    assert!(
        page.contains("利用申請が正常に完了しております") && page.contains(r#"<b id="until">-</b>"#) && page.contains("差し引く手続き中"),
        "{page}"
    );
    assert_eq!(store.office(&number).await.unwrap().unwrap().license_until, None);
    // A second application while this one waits is refused.
    let (_, _, page) = b.post("/portal/apply", &[("csrf", &*csrf), ("agree", "on"), ("read", "1"), ("confirm", "1")]).await;
    assert!(page.contains("二重には申し込めません"), "{page}");

    // ライセンス: validity, fee, payment, auto-renew (confirmed: it commits to next year's fee).
    let (_, _, lic) = b.get("/portal/license").await;
    assert!(lic.contains("¥21,000") && lic.contains("手続き中") && lic.contains(r#"<dd id="auto">しない</dd>"#), "{lic}");
    let (_, _, lic) = b.post("/portal/license/auto-renew", &[("csrf", &*csrf), ("on", "1")]).await;
    assert!(lic.contains("自動更新の確認") && !lic.contains(r#"<dd id="auto">する</dd>"#), "{lic}");
    let (_, _, lic) = b.post("/portal/license/auto-renew", &[("csrf", &*csrf), ("on", "1"), ("confirm", "1")]).await;
    assert!(lic.contains(r#"<dd id="auto">する</dd>"#));
    // A foreign page cannot switch it back (Origin).
    let r = b
        .http
        .post(format!("{}/portal/license/auto-renew", b.base))
        .header("cookie", b.cookie.clone().unwrap())
        .header("origin", "https://evil.example")
        .form(&[("csrf", &*csrf), ("on", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let audit = store.audit_log(50).await.unwrap();
    for action in ["portal.login", "portal.password", "portal.apply", "portal.auto_renew"] {
        assert!(audit.iter().any(|e| e.action == action), "audited: {action}");
    }
    // 証明書・端末: a password alone never yields a certificate — no enrolment code before the
    // second factor is set up (and passed in this session).
    let (_, _, page) = b.post("/portal/terminals/code", &[("csrf", &*csrf)]).await;
    assert!(page.contains("2段階認証が必要です") && !page.contains(r#"<b id="code">"#), "{page}");
    b.set_up_second_factor("/portal", &csrf).await;
    // A one-time code for a new PC, the PC enrols with it, shows up, is revoked.
    let (_, _, page) = b.post("/portal/terminals/code", &[("csrf", &*csrf)]).await;
    assert!(page.contains(&hub.running.state.ca.fingerprint_display()), "the CA fingerprint is on the sheet");
    let code = page.split(r#"<b id="code">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
    let (key, csr) = renkei_hub::ca::terminal_key_and_csr("受付のPC").unwrap();
    let enrol = renkei_protocol::EnrolRequest {
        login: admin.clone(),
        password: "Shin2026pass".into(),
        code: code.clone(),
        csr_pem: csr,
        label: "受付のPC".into(),
    };
    let r = hub.anonymous().post(hub.url(renkei_protocol::paths::ENROL)).json(&enrol).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let enrolled: renkei_protocol::EnrolResponse = r.json().await.unwrap();
    let mut pem = enrolled.certificate_pem.clone().into_bytes();
    pem.extend(key.as_bytes());
    let pc = hub.client_with(Some(reqwest::Identity::from_pem(&pem).unwrap()));
    let r = pc
        .post(hub.url(renkei_protocol::paths::SESSIONS))
        .json(&renkei_protocol::LoginRequest { login: admin.clone(), password: "Shin2026pass".into() })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the new PC logs in");
    let (_, _, list) = b.get("/portal/terminals").await;
    assert!(list.contains("受付のPC") && list.contains(&enrolled.terminal_id) && list.contains("有効"), "{list}");
    let row = list.split(&enrolled.terminal_id).nth(1).unwrap();
    assert!(!row.split("</tr>").next().unwrap().contains("<td>—</td>"), "last login is shown");
    let (_, _, page) = b.post(&format!("/portal/terminals/{}/revoke", enrolled.terminal_id), &[("csrf", &*csrf)]).await;
    assert!(page.contains("失効させました"), "{page}");
    // Another office's terminal cannot be revoked from here.
    assert_eq!(b.post("/portal/terminals/Tdemo1/revoke", &[("csrf", &*csrf)]).await.0, 404);
    let fresh = hub.client_with(Some(reqwest::Identity::from_pem(&pem).unwrap()));
    assert!(fresh.get(hub.url(renkei_protocol::paths::INBOX)).send().await.is_err(), "the revoked PC can no longer connect");

    // Logging out ends the session.
    b.post("/portal/logout", &[("csrf", &*csrf)]).await;
    assert_eq!(b.get("/portal/home").await.1, "/portal/login");
    hub.stop().await;
}

#[tokio::test]
async fn the_monthly_evidence_report_lists_who_sent_and_fetched_what() {
    use sha2::Digest as _;
    let hub = Hub::start().await;
    let (a, ta) = hub.session(0).await;
    let (b, tb) = hub.session(1).await;
    let files = crate::common::slip_unit(&hub, 0, 1, 7);
    let r = crate::common::send(&hub, &a, &ta, &hub.offices[1].number, &files, None).await;
    assert_eq!(r.status(), 201);
    let sent: renkei_protocol::SendResponse = r.json().await.unwrap();
    let r = b.post(hub.url(&format!("/v1/messages/{}/fetch", sent.message.id))).bearer_auth(&tb).send().await.unwrap();
    assert!(r.status().is_success());

    let mut care = Browser::new(&hub);
    let (s, ..) = care.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    assert_eq!(s, 303);
    let (_, _, page) = care.get("/portal/records").await;
    for (name, bytes) in &files {
        assert!(page.contains(name.as_str()), "{name}");
        assert!(page.contains(&renkei_hub::auth::hex(&sha2::Sha256::digest(bytes))), "hash of {name}");
    }
    assert!(
        page.contains("<td>送信</td>") && page.contains(&hub.offices[0].admin) && page.contains(&hub.offices[1].admin),
        "who sent and who fetched"
    );
    assert!(page.contains("<td>ひまわりデイサービス（1372000024）</td>"), "the counterpart by name and number");
    let (s, _, csv) = care.get("/portal/records.csv").await;
    assert_eq!(s, 200);
    assert!(csv.starts_with('\u{feff}') && csv.contains("区分,送信日時,送信者,相手先,ファイル名,SHA-256,取得,開封\r\n"));
    assert_eq!(csv.lines().count(), 1 + files.len());
    // The recipient sees the same message as 受信.
    let mut day = Browser::new(&hub);
    day.post("/portal/login", &[("login", &hub.offices[1].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = day.get("/portal/records").await;
    assert!(page.contains("<td>受信</td>") && page.contains(files[0].0.as_str()));
    // Another month is empty; a malformed month is refused.
    let (_, _, page) = care.get("/portal/records?month=202001").await;
    assert!(page.contains("0 ファイル"));
    assert_eq!(care.get("/portal/records?month=2020").await.0, 400);
    hub.stop().await;
}

#[tokio::test]
async fn the_administrator_adds_and_disables_staff() {
    let hub = Hub::start().await;
    let mut admin = Browser::new(&hub);
    admin.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = admin.get("/portal/staff").await;
    let csrf = csrf_of(&page);
    // Staff are managed only after the second factor.
    let (_, _, page) = admin.post("/portal/staff", &[("csrf", &*csrf), ("name", "山田 花子")]).await;
    assert!(page.contains("2段階認証が必要です") && !page.contains("new-login"), "{page}");
    admin.set_up_second_factor("/portal", &csrf).await;
    let (_, _, page) = admin.post("/portal/staff", &[("csrf", &*csrf), ("name", "山田 花子")]).await;
    let login = page.split(r#"<b id="new-login">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
    let password = page.split(r#"<b id="new-password">"#).nth(1).unwrap().split('<').next().unwrap().to_owned();
    assert_eq!(login, format!("KJ{}03", hub.offices[0].number), "the next free ID after the demo admin and staff");
    assert!(page.contains("仮パスワード"));
    // The new staff member logs in with the temporary password and must change it first.
    let mut staff = Browser::new(&hub);
    let (_, to, _) = staff.post("/portal/login", &[("login", &login), ("password", &password)]).await;
    assert_eq!(to, "/portal/password");
    let (_, _, page) = staff.get("/portal/password").await;
    let scsrf = csrf_of(&page);
    staff.post("/portal/password", &[("csrf", &*scsrf), ("current", &password), ("new", "Hanako2026x"), ("again", "Hanako2026x")]).await;
    // Staff cannot add staff.
    assert_eq!(staff.post("/portal/staff", &[("csrf", &*scsrf), ("name", "x")]).await.0, 403);
    // The staff member also uses the office's PC (API session on the demo terminal).
    let pc = hub.terminal(0);
    let r = pc
        .post(hub.url(renkei_protocol::paths::SESSIONS))
        .json(&renkei_protocol::LoginRequest { login: login.clone(), password: "Hanako2026x".into() })
        .send()
        .await
        .unwrap();
    let token = r.json::<renkei_protocol::LoginResponse>().await.unwrap().token;
    assert_eq!(pc.get(hub.url(renkei_protocol::paths::INBOX)).bearer_auth(&token).send().await.unwrap().status(), 200);

    // Disabled: every session ends, no new login.
    let (_, _, page) = admin.post(&format!("/portal/staff/{login}/disable"), &[("csrf", &*csrf)]).await;
    assert!(page.contains("利用停止にしました"), "{page}");
    assert_eq!(pc.get(hub.url(renkei_protocol::paths::INBOX)).bearer_auth(&token).send().await.unwrap().status(), 401);
    assert_eq!(staff.get("/portal/home").await.1, "/portal/login");
    let (_, _, page) = staff.post("/portal/login", &[("login", &login), ("password", "Hanako2026x")]).await;
    assert!(page.contains("使えなくなっています"), "{page}");
    // Another office's user cannot be disabled from here.
    assert_eq!(admin.post(&format!("/portal/staff/{}/disable", hub.offices[1].staff), &[("csrf", &*csrf)]).await.0, 404);
    hub.stop().await;
}

#[tokio::test]
async fn the_operator_console_imports_publishes_looks_up_revokes_and_audits() {
    let hub = Hub::start().await;
    let store = &hub.running.state.store;
    store
        .add_operator("ops1", "運営 太郎", &renkei_hub::auth::hash_password("Operator2026x").unwrap(), 1, Default::default())
        .await
        .unwrap();
    // Office users have no access to the console.
    let mut office = Browser::new(&hub);
    office.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    assert_eq!(office.get("/operator/").await.1, "/operator/login");
    let mut op = Browser::new(&hub);
    let (_, _, page) = op.post("/operator/login", &[("login", "ops1"), ("password", "wrong")]).await;
    assert!(page.contains("違います"));
    let (s, to, _) = op.post("/operator/login", &[("login", "ops1"), ("password", "Operator2026x")]).await;
    // Every operator has a second factor: set up at the first login, before any page.
    assert_eq!((s, to.as_str()), (303, "/operator/security"));
    assert_eq!(op.get("/operator/registry").await.1, "/operator/security", "nothing before the second factor");
    let (_, _, page) = op.get("/operator/security").await;
    let csrf = csrf_of(&page);
    let (secret, _) = op.set_up_second_factor("/operator", &csrf).await;
    let (_, _, page) = op.get("/operator/registry").await;
    assert!(page.contains("事業所台帳"), "{page}");
    // The next login asks for the code.
    let mut op2 = Browser::new(&hub);
    let (_, to, _) = op2.post("/operator/login", &[("login", "ops1"), ("password", "Operator2026x")]).await;
    assert_eq!(to, "/operator/second-factor");
    assert_eq!(op2.get("/operator/").await.1, "/operator/second-factor");
    let (_, _, page) = op2.get("/operator/second-factor").await;
    let csrf2 = csrf_of(&page);
    let (_, to, _) = op2.post("/operator/second-factor", &[("csrf", &*csrf2), ("code", &totp_code(&secret, 1))]).await;
    assert_eq!(to, "/operator/");

    // Registry upload: good lines in, bad lines listed with line, item and reason.
    let figures = prefecture_figures();
    let mut csv = registry_csv(&figures, |f| f.offices / 100);
    csv.extend("1371000018,番号違い,43\n9999999999,,43\n".as_bytes());
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part("file", reqwest::multipart::Part::bytes(csv).file_name("daicho.csv"));
    let r = op
        .http
        .post(format!("{}/operator/registry", op.base))
        .header("cookie", op.cookie.clone().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/operator/registry/progress", "the import runs in the background");
    // The progress page refreshes itself until the import is done.
    let mut page = String::new();
    for _ in 0..100 {
        page = op.get("/operator/registry/progress").await.2;
        if page.contains("（完了）") {
            break;
        }
        assert!(page.contains(r#"http-equiv="refresh""#), "refreshes while running");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let expected: u32 = figures.iter().map(|f| f.offices / 100).sum();
    // The registry is the truth: a number whose check digit fails is kept, listed as a warning.
    assert!(page.contains(&format!("<b>{}</b> 事業所を取り込みました。エラー 1 行", expected + 1)), "{page}");
    assert!(page.contains("事業所番号") && page.contains("9999999999"), "per-line errors");
    assert!(page.contains("警告（取り込みました） 1 行") && page.contains("1371000018"), "per-line warnings: {page}");

    // A notice shows in the clients' API and on the public portal.
    let (_, _, page) = op
        .post("/operator/notices", &[("csrf", &*csrf), ("title", "年末年始の運用について"), ("body", "12月29日から1月3日はお休みします。")])
        .await;
    assert!(page.contains("公開しました"));
    let (a, ta) = hub.session(0).await;
    let notices: Vec<renkei_protocol::Notice> =
        a.get(hub.url(renkei_protocol::paths::NOTICES)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
    assert!(notices.iter().any(|n| n.title == "年末年始の運用について"));
    let top = hub.anonymous().get(hub.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(top.contains("年末年始の運用について"));

    // Look up an office, revoke its terminal: the PC is refused at once.
    let (_, _, page) = op.get(&format!("/operator/offices?q={}", hub.offices[0].number)).await;
    assert!(page.contains("さくら居宅介護支援事業所") && page.contains("Tdemo1") && page.contains(&hub.offices[0].admin), "{page}");
    let (_, _, page) = op.post(&format!("/operator/terminals/Tdemo1/revoke?q={}", hub.offices[0].number), &[("csrf", &*csrf)]).await;
    assert!(page.contains("失効させました"));
    assert!(hub.terminal(0).get(hub.url(renkei_protocol::paths::INBOX)).send().await.is_err(), "revoked at the handshake");
    // A license granted at ¥21,000 is unpaid until the operator records the payment.
    let number = &hub.offices[1].number;
    store.grant_license(number, "2099-12-31", 21000, 1, None, Default::default()).await.unwrap();
    let (_, _, page) = op.get(&format!("/operator/offices?q={number}")).await;
    assert!(page.contains("21000 円 未払い") && page.contains("mark-paid"), "{page}");
    let (_, _, page) = op.post(&format!("/operator/offices/{number}/paid"), &[("csrf", &*csrf)]).await;
    assert!(page.contains("入金の記録") && page.contains("21000 円"), "confirmed first: {page}");
    let (_, _, page) = op.post(&format!("/operator/offices/{number}/paid"), &[("csrf", &*csrf), ("confirm", "1")]).await;
    assert!(page.contains("入金を記録しました") && page.contains("支払済"), "{page}");
    // Without the CSRF token nothing changes.
    assert_eq!(op.post("/operator/terminals/Tdemo2/revoke", &[]).await.0, 403);

    // Everything above is in the audit log, searchable.
    // Each action once, whichever door it came through; the door and the operator in the detail.
    for a in ["operator.login", "registry_import", "notice", "operator.lookup", "revoke", "operator.paid", "second_factor.on"] {
        let (_, _, page) = op.get(&format!("/operator/audit?action={a}")).await;
        assert!(page.contains(a) && page.contains("by=operator:ops1"), "audited: {a}: {page}");
    }
    // Traffic: today's files appear in the overview.
    let (b, tb) = hub.session(1).await;
    let files = crate::common::slip_unit(&hub, 1, 2, 9);
    assert_eq!(crate::common::send(&hub, &b, &tb, &hub.offices[2].number, &files, None).await.status(), 201);
    let (_, _, page) = op.get("/operator/").await;
    assert!(page.contains(&format!("<b>{}</b> 事業所", expected + 1)), "overview counts the registry");
    assert!(page.contains("データベース: 正常") && page.contains("ファイル保存領域: 正常"), "storage state on the overview");
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let day = format!("{}/{:02}/{:02}", today.year(), u8::from(today.month()), today.day());
    assert!(page.contains(&format!(r#"<tr><td>{day}</td><td class="num">{}</td></tr>"#, files.len())), "files per day: {page}");
    assert!(page.contains(&format!(r#"<tr><td>東京都</td><td class="num">{}</td></tr>"#, files.len())), "files per prefecture");
    hub.stop().await;
}

#[tokio::test]
async fn login_attempts_are_limited_per_address() {
    let hub = Hub::start_with(|c| c.auth.logins_per_minute_per_ip = 3).await;
    let mut b = Browser::new(&hub);
    for _ in 0..3 {
        assert_ne!(b.post("/portal/login", &[("login", "KJ0000000000"), ("password", "x")]).await.0, 429);
    }
    let (s, _, page) = b.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    assert_eq!(s, 429, "even the right password waits: {page}");
    assert!(page.contains("1分ほど待って"));
    // The API login and the console count too; other pages do not.
    let r = hub
        .terminal(0)
        .post(hub.url(renkei_protocol::paths::SESSIONS))
        .json(&renkei_protocol::LoginRequest { login: "x".into(), password: "y".into() })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(b.post("/operator/login", &[("login", "x"), ("password", "y")]).await.0, 429);
    assert_eq!(b.get("/usage").await.0, 200);
    hub.stop().await;
}

#[tokio::test]
async fn licenses_that_renew_automatically_are_renewed_before_they_end() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9)).date();
    let soon = today.saturating_add(time::Duration::days(10));
    let number = hub.offices[0].number.clone();
    st.store.grant_license(&number, &soon.to_string(), 21000, 1, None, Default::default()).await.unwrap();
    st.store.grant_license(&hub.offices[1].number, &soon.to_string(), 21000, 1, None, Default::default()).await.unwrap(); // no auto-renew
    st.store.set_auto_renew(&number, true, 1, Default::default()).await.unwrap();
    let renewed = renkei_hub::service::licence::renewal_pass(st, today).await.unwrap();
    assert_eq!(renewed, vec![number.clone()]);
    // The next year is applied for at the fee; it waits for its deduction like any other.
    let lic = st.store.license(&number).await.unwrap().unwrap();
    assert_eq!(
        (lic.until.as_deref(), lic.fee_yen, lic.paid_at),
        (Some(soon.to_string().as_str()), Some(21000), None),
        "a new year waiting"
    );
    assert!(lic.applied_at.is_some());
    let notices = st.store.notices(Some(&number), renkei_hub::jst::now(), 10).await.unwrap();
    assert!(notices.iter().any(|n| n.title == "ライセンスを自動更新しました" && n.body.contains("給付費からの差し引き")));
    // Its deduction scheduled: the licence runs one year on from its end.
    let want = renkei_hub::service::licence::one_year_from(soon.saturating_add(time::Duration::days(1)));
    let month = format!("{}-{:02}", today.year(), u8::from(today.month()));
    renkei_hub::service::licence::export_deductions(st, renkei_hub::service::Actor::Admin, 13, &month, true).await.unwrap();
    assert_eq!(st.store.office(&number).await.unwrap().unwrap().license_until, Some(want));
    assert!(renkei_hub::service::licence::renewal_pass(st, today).await.unwrap().is_empty(), "once");
    hub.stop().await;
}

#[tokio::test]
async fn passwords_expire_with_a_warning_first() {
    let hub = Hub::start_with(|c| c.auth.password_max_days = 10).await;
    let store = &hub.running.state.store;
    let number = hub.offices[0].number.clone();
    let hash = renkei_hub::auth::hash_password("Aging2026pw").unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // One password set 3 days ago (warned), one set 11 days ago (expired).
    for (login, age) in [("KJ_FRESH", 3), ("KJ_OLD", 11)] {
        store
            .add_user(
                &renkei_hub::store::NewUser {
                    login,
                    office: &number,
                    role: renkei_hub::store::Role::Staff,
                    name: login,
                    password_hash: &hash,
                    must_change: false,
                },
                now - age * 86400,
                Default::default(),
            )
            .await
            .unwrap();
    }
    let mut b = Browser::new(&hub);
    let (_, to, _) = b.post("/portal/login", &[("login", "KJ_FRESH"), ("password", "Aging2026pw")]).await;
    assert_eq!(to, "/portal/home");
    let (_, _, home) = b.get("/portal/home").await;
    assert!(home.contains("パスワードの有効期限まであと 7 日です"), "{home}");
    let mut old = Browser::new(&hub);
    let (_, to, _) = old.post("/portal/login", &[("login", "KJ_OLD"), ("password", "Aging2026pw")]).await;
    assert_eq!(to, "/portal/password", "an expired password must be changed");
    // The API says so too, and tells when a password expires.
    let r = hub
        .terminal(0)
        .post(hub.url(renkei_protocol::paths::SESSIONS))
        .json(&renkei_protocol::LoginRequest { login: "KJ_OLD".into(), password: "Aging2026pw".into() })
        .send()
        .await
        .unwrap();
    let lr: renkei_protocol::LoginResponse = r.json().await.unwrap();
    assert!(lr.must_change_password && lr.password_expires_at.is_some());
    // The session that login gave reads and sends nothing until the password is changed: the
    // state is checked at every request, not only at login.
    let t = hub.terminal(0);
    let inbox = t.get(hub.url(renkei_protocol::paths::INBOX)).bearer_auth(&lr.token).send().await.unwrap();
    let e = crate::common::error(inbox).await;
    assert_eq!(e.code, renkei_protocol::ErrorCode::PasswordChangeRequired);
    assert!(e.message.contains("有効期限が切れています"), "{}", e.message);
    let files = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    let sent = crate::common::send(&hub, &t, &lr.token, &hub.offices[1].number, &files, None).await;
    assert_eq!(sent.status(), 403);
    // Nor a portal change before the password is changed (a POST, not only a page view).
    let (_, _, page) = old.get("/portal/password").await;
    let csrf = csrf_of(&page);
    let (s, to, _) = old.post("/portal/terminals/code", &[("csrf", &*csrf)]).await;
    assert_eq!((s, to.as_str()), (303, "/portal/password"), "no enrolment code with an expired password");
    hub.stop().await;
}

#[tokio::test]
async fn the_second_factor_is_asked_at_every_login_once_per_code_and_recovery_codes_work_once() {
    let hub = Hub::start().await;
    let admin = hub.offices[0].admin.clone();
    let mut b = Browser::new(&hub);
    b.post("/portal/login", &[("login", &admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = b.get("/portal/security").await;
    assert!(page.contains("まだ設定されていません"), "{page}");
    let csrf = csrf_of(&page);
    // A wrong code does not turn it on.
    b.post("/portal/security/start", &[("csrf", &*csrf)]).await;
    let (_, _, page) = b.post("/portal/security/confirm", &[("csrf", &*csrf), ("code", "000000")]).await;
    assert!(page.contains("確認コードが違います") && page.contains("<svg"), "shown again: {page}");
    let (secret, recovery) = b.set_up_second_factor("/portal", &csrf).await;
    let audit = hub.running.state.store.audit_log(20).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "second_factor.on"));

    // A new login: nothing before the code, not even the password page.
    let mut c = Browser::new(&hub);
    let (_, to, _) = c.post("/portal/login", &[("login", &admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    assert_eq!(to, "/portal/second-factor");
    for path in ["/portal/home", "/portal/terminals", "/portal/password", "/portal/security"] {
        assert_eq!(c.get(path).await.1, "/portal/second-factor", "{path}");
    }
    let (_, _, page) = c.get("/portal/second-factor").await;
    let ccsrf = csrf_of(&page);
    assert_eq!(c.post("/portal/terminals/code", &[("csrf", &*ccsrf)]).await.1, "/portal/second-factor", "no change either");
    let (_, _, page) = c.post("/portal/second-factor", &[("csrf", &*ccsrf), ("code", "123456")]).await;
    assert!(page.contains("確認コードが違います"), "{page}");
    let code = totp_code(&secret, 1);
    let (_, to, _) = c.post("/portal/second-factor", &[("csrf", &*ccsrf), ("code", &code)]).await;
    assert_eq!(to, "/portal/home");
    assert_eq!(c.get("/portal/home").await.0, 200);
    // The same code a second time (seen over a shoulder) is refused.
    let mut d = Browser::new(&hub);
    d.post("/portal/login", &[("login", &admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = d.get("/portal/second-factor").await;
    let dcsrf = csrf_of(&page);
    let (_, _, page) = d.post("/portal/second-factor", &[("csrf", &*dcsrf), ("code", &code)]).await;
    assert!(page.contains("確認コードが違います"), "a code is good once: {page}");
    // A recovery code works once (typed in capitals, without the hyphen).
    let typed = recovery[0].replace('-', "").to_uppercase();
    let (_, to, _) = d.post("/portal/second-factor", &[("csrf", &*dcsrf), ("code", &typed)]).await;
    assert_eq!(to, "/portal/home");
    let mut e = Browser::new(&hub);
    e.post("/portal/login", &[("login", &admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = e.get("/portal/second-factor").await;
    let ecsrf = csrf_of(&page);
    let (_, _, page) = e.post("/portal/second-factor", &[("csrf", &*ecsrf), ("code", &recovery[0])]).await;
    assert!(page.contains("確認コードが違います"), "a recovery code is good once: {page}");
    // Wrong codes count on the lockout like wrong passwords (3 in the demo configuration).
    e.post("/portal/second-factor", &[("csrf", &*ecsrf), ("code", "111111")]).await;
    let (_, _, page) = e.post("/portal/second-factor", &[("csrf", &*ecsrf), ("code", &totp_code(&secret, 0))]).await;
    assert!(!page.is_empty() && e.get("/portal/home").await.1 == "/portal/second-factor", "locked: even a right code is refused now");
    // The enrolled terminals are not locked out by it.
    let (a, token) = hub.session(0).await;
    assert_eq!(a.get(hub.url(renkei_protocol::paths::INBOX)).bearer_auth(&token).send().await.unwrap().status(), 200);
    hub.stop().await;
}

#[tokio::test]
async fn a_lost_phone_is_reset_on_the_hub_and_set_up_anew() {
    let hub = Hub::start().await;
    let store = &hub.running.state.store;
    store.add_operator("ops2", "運営", &renkei_hub::auth::hash_password("Operator2026x").unwrap(), 1, Default::default()).await.unwrap();
    let mut op = Browser::new(&hub);
    op.post("/operator/login", &[("login", "ops2"), ("password", "Operator2026x")]).await;
    let (_, _, page) = op.get("/operator/security").await;
    let csrf = csrf_of(&page);
    op.set_up_second_factor("/operator", &csrf).await;
    // Phone and recovery codes lost: the operator of the hub resets it (`renkei-hub operator
    // reset-second-factor ops2`, which calls this), audited; the next login sets it up anew.
    let id = store.operator(Some("ops2"), None).await.unwrap().unwrap().id;
    let account = renkei_hub::store::Account::Operator(id);
    renkei_hub::service::second_factor::reset(store, renkei_hub::service::Actor::Admin, account).await.unwrap();
    assert!(store.second_factor(account).await.unwrap().secret.is_none());
    assert_eq!(store.second_factor(account).await.unwrap().recovery_left, 0, "the old recovery codes are gone too");
    let mut again = Browser::new(&hub);
    let (_, to, _) = again.post("/operator/login", &[("login", "ops2"), ("password", "Operator2026x")]).await;
    assert_eq!(to, "/operator/security");
    let log = store.audit_search(Some("second_factor.off"), None, 10).await.unwrap();
    assert!(log.iter().any(|a| a.detail.contains("by=admin") && a.detail.contains("reset")), "{log:?}");
    hub.stop().await;
}

#[tokio::test]
async fn usage_without_a_registry_says_why_there_is_no_chart() {
    let hub = Hub::start().await;
    let page = hub.anonymous().get(hub.url("/usage")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("事業所台帳がまだ取り込まれていない") && !page.contains("<svg"), "{page}");
    hub.stop().await;
}
