//! The authorization matrix, generated from the router: every route the hub serves
//! (`renkei_hub::web::routes()`, the same list the router is built from) is tried in every
//! caller state, and the answer must be the one its access class promises. A new route has to
//! declare its class to exist at all, and is then tried here with the others.

use crate::common::Hub;
use crate::portal::{Browser, csrf_of, totp_code};
use renkei_hub::store::{NewUser, Role};
use renkei_hub::web::{Access, Route};
use renkei_protocol::{ErrorCode, paths};

/// The route's path with sample values in its parameters.
fn sample_path(r: &Route, office: &str, foreign_login: &str) -> String {
    r.path.replace("{id}", "Tnotmine").replace("{idx}", "0").replace("{office}", office).replace("{login}", foreign_login)
}

fn api(r: &Route) -> bool {
    matches!(
        r.access,
        Access::TerminalLogin | Access::Terminal | Access::TerminalSend | Access::TerminalAdmin | Access::TerminalAnyPassword
    )
}

/// One API request as a caller in some state; `None` when the connection itself was refused
/// (TLS: a foreign CA, a revoked certificate).
async fn call(hub: &Hub, c: &reqwest::Client, token: Option<&str>, r: &Route) -> Option<(u16, Option<ErrorCode>)> {
    call_for(hub, c, token, r, None).await
}

/// [`call`], naming the office worked for in `x-renkei-on-behalf-of` (代行).
async fn call_for(
    hub: &Hub,
    c: &reqwest::Client,
    token: Option<&str>,
    r: &Route,
    on_behalf: Option<&str>,
) -> Option<(u16, Option<ErrorCode>)> {
    let url = hub.url(&sample_path(r, &hub.offices[1].number, &hub.offices[1].staff));
    let mut req = c.request(r.method.clone(), url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(o) = on_behalf {
        req = req.header(paths::ON_BEHALF_OF, o);
    }
    if r.access == Access::TerminalLogin {
        // A well-formed login, so that what answers is the access check, not the body's form.
        req = req.json(&renkei_protocol::LoginRequest { login: "KJ_NOBODY".into(), password: "x".into() });
    } else if r.method == reqwest::Method::POST || r.method == reqwest::Method::PATCH {
        req = req.header("content-type", "application/json").body("{}");
    }
    let resp = req.timeout(std::time::Duration::from_secs(5)).send().await.ok()?;
    let status = resp.status().as_u16();
    if r.path == paths::EVENTS && status == 200 {
        return Some((200, None));
    }
    let code = resp.json::<renkei_protocol::ErrorBody>().await.ok().map(|b| b.code);
    Some((status, code))
}

async fn user(hub: &Hub, login: &str, role: Role, must_change: bool, age_days: i64) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hash = renkei_hub::auth::hash_password(renkei_hub::dev::DEMO_PASSWORD).unwrap();
    let u = NewUser { login, office: &hub.offices[0].number, role, name: login, password_hash: &hash, must_change };
    hub.running.state.store.add_user(&u, now - age_days * 86400, Default::default()).await.unwrap();
}

#[tokio::test]
async fn every_api_route_answers_each_caller_state_as_its_class_says() {
    let hub = Hub::start_with(|c| c.auth.password_max_days = 10).await;
    let routes: Vec<Route> = renkei_hub::web::routes().into_iter().filter(api).collect();
    assert!(routes.len() >= 20, "the API's routes are all in the table");
    // Callers: office 0's terminal with sessions of users in every state.
    let t0 = hub.terminal(0);
    user(&hub, "KJ_TEMP", Role::Staff, true, 0).await;
    user(&hub, "KJ_EXPIRED", Role::Staff, false, 11).await;
    user(&hub, "KJ_DISABLED", Role::Staff, false, 0).await;
    let admin = hub.login(&t0, &hub.offices[0].admin.clone()).await;
    let staff = hub.login(&t0, &hub.offices[0].staff.clone()).await;
    let temp = hub.login(&t0, "KJ_TEMP").await;
    let expired = hub.login(&t0, "KJ_EXPIRED").await;
    let disabled = hub.login(&t0, "KJ_DISABLED").await;
    let st = &hub.running.state;
    let d = st.store.user_by_login("KJ_DISABLED").await.unwrap().unwrap();
    st.store.disable_user(d.id, 1, Default::default()).await.unwrap();
    // A certificate of another CA, and a revoked one (office 2's).
    let other_ca = renkei_hub::ca::Ca::init(&tempdir("foreign-ca"), "偽のCA").unwrap();
    let (key, csr) = renkei_hub::ca::terminal_key_and_csr("偽").unwrap();
    let issued = other_ca.issue_terminal(&csr, "Tforeign", &hub.offices[0].number, "偽").unwrap();
    let foreign = hub.client_with(Some(reqwest::Identity::from_pem(format!("{}{key}", issued.cert_pem).as_bytes()).unwrap()));
    let t2 = hub.terminal(2);
    let token2 = hub.login(&t2, &hub.offices[2].admin.clone()).await;
    assert!(renkei_hub::service::terminals::revoke(st, renkei_hub::service::Actor::Admin, None, "Tdemo3").await.unwrap());
    let revoked = hub.terminal(2);
    let t1 = hub.terminal(1);

    let refused = |a: Option<(u16, Option<ErrorCode>)>| a.is_some_and(|(s, _)| s == 401 || s == 403);
    let passes = |a: Option<(u16, Option<ErrorCode>)>| a.is_some_and(|(s, _)| s != 401 && s != 403 && s < 500);
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let needs_session = r.access != Access::TerminalLogin;
        // No certificate.
        let a = call(&hub, &hub.anonymous(), Some(&admin), r).await;
        assert_eq!(a.map(|x| x.0), Some(401), "{name}: without a certificate");
        // A foreign CA's certificate, a revoked certificate: the handshake itself fails.
        assert!(call(&hub, &foreign, Some(&admin), r).await.is_none(), "{name}: foreign CA");
        assert!(call(&hub, &revoked, Some(&token2), r).await.is_none(), "{name}: revoked terminal");
        if !needs_session {
            continue;
        }
        // Another office's certificate with this office's session; no session at all.
        assert!(refused(call(&hub, &t1, Some(&admin), r).await), "{name}: other office's certificate");
        assert_eq!(call(&hub, &t0, None, r).await.map(|x| x.0), Some(401), "{name}: no session");
        assert_eq!(call(&hub, &t0, Some(&disabled), r).await.map(|x| x.0), Some(401), "{name}: disabled user");
        // Logging out ends the session it is tried with: the refusals above are its part.
        if r.path == paths::SESSIONS && r.method == reqwest::Method::DELETE {
            continue;
        }
        // Password state.
        for (tok, what) in [(&temp, "temporary password"), (&expired, "expired password")] {
            let a = call(&hub, &t0, Some(tok), r).await;
            if r.access == Access::TerminalAnyPassword {
                assert!(passes(a), "{name}: {what} may log out and change it: {a:?}");
            } else {
                assert_eq!(a, Some((403, Some(ErrorCode::PasswordChangeRequired))), "{name}: {what}");
            }
        }
        // Role.
        let a = call(&hub, &t0, Some(&staff), r).await;
        if r.access == Access::TerminalAdmin {
            assert_eq!(a.map(|x| x.0), Some(403), "{name}: staff where an administrator is needed");
        } else {
            assert!(passes(a), "{name}: staff: {a:?}");
        }
        assert!(passes(call(&hub, &t0, Some(&admin), r).await), "{name}: the administrator");
    }

    // Lapsed licence: every sending route refuses with the licence's own code; reading goes on.
    let (_, ta) = (t0.clone(), admin.clone());
    let files = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    let form = reqwest::multipart::Form::new()
        .text("to", hub.offices[1].number.clone())
        .part("file", reqwest::multipart::Part::bytes(files[0].1.clone()).file_name(files[0].0.clone()));
    let draft: renkei_protocol::DraftInfo =
        t0.post(hub.url(paths::DRAFTS)).bearer_auth(&ta).multipart(form).send().await.unwrap().json().await.unwrap();
    let mut o = st.store.office(&hub.offices[0].number).await.unwrap().unwrap();
    o.license_until = Some("2020-03-31".into());
    st.store.upsert_office(&o, 1, Default::default()).await.unwrap();
    for r in renkei_hub::web::routes().iter().filter(|r| r.access == Access::TerminalSend) {
        let resp = if r.path == paths::MESSAGES {
            crate::common::send(&hub, &t0, &ta, &hub.offices[1].number, &files, None).await
        } else {
            t0.post(hub.url(&r.path.replace("{id}", &draft.id))).bearer_auth(&ta).send().await.unwrap()
        };
        let e = crate::common::error(resp).await;
        assert_eq!(e.code, ErrorCode::LicenseExpired, "{} {}", r.method, r.path);
    }
    assert_eq!(t0.get(hub.url(paths::INBOX)).bearer_auth(&ta).send().await.unwrap().status(), 200, "reading goes on");
    hub.stop().await;
}

#[tokio::test]
async fn every_api_route_takes_on_behalf_of_as_its_row_says() {
    use renkei_hub::service::delegations::Scope;
    let hub = Hub::start().await;
    // Every API route with a session (logging out would end the agent's session mid-test).
    let logout = |r: &Route| r.path == paths::SESSIONS && r.method == reqwest::Method::DELETE;
    let routes: Vec<Route> =
        renkei_hub::web::routes().into_iter().filter(|r| api(r) && r.access != Access::TerminalLogin && !logout(r)).collect();
    assert!(routes.iter().filter(|r| r.on_behalf.is_some()).count() >= 15, "the mailbox routes are delegable");
    let st = &hub.running.state;
    let (principal, stranger, agent) = (hub.offices[1].number.clone(), hub.offices[0].number.clone(), hub.offices[2].number.clone());
    let t2 = hub.terminal(2);
    let token = hub.login(&t2, &hub.offices[2].admin.clone()).await;
    let delegate = |send: bool, receive: bool| {
        let g =
            renkei_hub::service::delegations::Grant { agent: agent.clone(), may_send: send, may_receive: receive, ..Default::default() };
        let admin = hub.offices[1].admin.clone();
        async move {
            let u = st.store.user_by_login(&admin).await.unwrap().unwrap();
            renkei_hub::service::delegations::grant(&st.store, renkei_hub::service::Actor::Admin, &u, true, &g).await
        }
    };
    let refused = |a: Option<(u16, Option<ErrorCode>)>| a == Some((403, Some(ErrorCode::DelegationRefused)));
    let passes = |a: Option<(u16, Option<ErrorCode>)>| a.is_some_and(|(s, _)| s != 401 && s != 403 && s < 500);

    // Not yet a registered agent: nothing may be done in the office's name, even with a
    // delegation's row (the registry of agents is the operator's).
    assert_eq!(delegate(true, true).await.unwrap_err().0.code, ErrorCode::BadRequest, "only a registered agent can be chosen");
    for r in &routes {
        assert!(refused(call_for(&hub, &t2, Some(&token), r, Some(&principal)).await), "{} {}: not an agent", r.method, r.path);
    }
    renkei_hub::service::delegations::register_agent(&st.store, renkei_hub::service::Actor::Admin, &agent).await.unwrap();
    let both = delegate(true, true).await.unwrap();
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let a = call_for(&hub, &t2, Some(&token), r, Some(&principal)).await;
        if r.on_behalf.is_some() {
            assert!(passes(a), "{name}: delegated: {a:?}");
        } else {
            assert!(refused(a), "{name}: cannot be delegated: {a:?}");
        }
        // An office that delegated nothing; a malformed number.
        assert!(refused(call_for(&hub, &t2, Some(&token), r, Some(&stranger)).await), "{name}: no delegation");
        // A malformed number (an empty one included: never taken as no header) is a bad request
        // where the header is taken, and refused where it is not.
        for bad in ["13710000", "", "１３７１００００１７"] {
            let a = call_for(&hub, &t2, Some(&token), r, Some(bad)).await;
            let want = if r.on_behalf.is_some() { (400, Some(ErrorCode::BadRequest)) } else { (403, Some(ErrorCode::DelegationRefused)) };
            assert_eq!(a, Some(want), "{name}: malformed office number {bad:?}");
        }
    }

    // Send only: the receiving routes refuse; revoked: everything does, at once.
    let u = st.store.user_by_login(&hub.offices[1].admin).await.unwrap().unwrap();
    renkei_hub::service::delegations::revoke(&st.store, renkei_hub::service::Actor::Admin, &u, both).await.unwrap();
    let send_only = delegate(true, false).await.unwrap();
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let a = call_for(&hub, &t2, Some(&token), r, Some(&principal)).await;
        match r.on_behalf {
            Some(Scope::Receive) | None => assert!(refused(a), "{name}: not delegated (send only): {a:?}"),
            Some(Scope::Send) | Some(Scope::Any) => assert!(passes(a), "{name}: delegated (send only): {a:?}"),
        }
    }
    renkei_hub::service::delegations::revoke(&st.store, renkei_hub::service::Actor::Admin, &u, send_only).await.unwrap();
    for r in routes.iter().filter(|r| r.on_behalf.is_some()) {
        assert!(refused(call_for(&hub, &t2, Some(&token), r, Some(&principal)).await), "{} {}: revoked", r.method, r.path);
    }
    hub.stop().await;
}

#[tokio::test]
async fn every_portal_and_console_route_answers_each_caller_state_as_its_class_says() {
    let hub = Hub::start_with(|c| c.auth.password_max_days = 10).await;
    let routes = renkei_hub::web::routes();
    user(&hub, "KJ_TEMP", Role::Admin, true, 0).await;
    user(&hub, "KJ_EXPIRED", Role::Admin, false, 11).await;
    let login = |login: String| {
        let hub = &hub;
        async move {
            let mut b = Browser::new(hub);
            b.post("/portal/login", &[("login", &login), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
            b
        }
    };
    // An administrator without a second factor, one with it (a second session not yet past it),
    // a staff member, users with a temporary and an expired password, nobody.
    let admin = login(hub.offices[0].admin.clone()).await;
    let (_, _, page) = admin.get("/portal/security").await;
    let admin_csrf = csrf_of(&page);
    let mut admin_2fa = login(hub.offices[1].admin.clone()).await;
    let (_, _, page) = admin_2fa.get("/portal/security").await;
    let csrf_2fa = csrf_of(&page);
    let (secret, _) = admin_2fa.set_up_second_factor("/portal", &csrf_2fa).await;
    let pending = login(hub.offices[1].admin.clone()).await;
    let (_, _, page) = pending.get("/portal/second-factor").await;
    let pending_csrf = csrf_of(&page);
    let staff = login(hub.offices[0].staff.clone()).await;
    let (_, _, page) = staff.get("/portal/home").await;
    let staff_csrf = csrf_of(&page);
    let temp = login("KJ_TEMP".into()).await;
    let expired = login("KJ_EXPIRED".into()).await;
    // A user past the second factor whose password has expired (the mailbox's last check).
    user(&hub, "KJ_EXP2FA", Role::Staff, false, 11).await;
    let mut expired_2fa = login("KJ_EXP2FA".into()).await;
    let (_, _, page) = expired_2fa.get("/portal/security").await;
    let expired_2fa_csrf = csrf_of(&page);
    expired_2fa.set_up_second_factor("/portal", &expired_2fa_csrf).await;
    let (_, _, page) = temp.get("/portal/password").await;
    let temp_csrf = csrf_of(&page);
    let (_, _, page) = expired.get("/portal/password").await;
    let expired_csrf = csrf_of(&page);
    let nobody = Browser::new(&hub);
    // An operator with the second factor, and one session before it.
    hub.running
        .state
        .store
        .add_operator("ops1", "運営", &renkei_hub::auth::hash_password("Operator2026x").unwrap(), 1, Default::default())
        .await
        .unwrap();
    let mut op = Browser::new(&hub);
    op.post("/operator/login", &[("login", "ops1"), ("password", "Operator2026x")]).await;
    let (_, _, page) = op.get("/operator/security").await;
    let op_csrf = csrf_of(&page);
    let (op_secret, _) = op.set_up_second_factor("/operator", &op_csrf).await;
    let mut op_pending = Browser::new(&hub);
    op_pending.post("/operator/login", &[("login", "ops1"), ("password", "Operator2026x")]).await;
    let (_, _, page) = op_pending.get("/operator/second-factor").await;
    let op_pending_csrf = csrf_of(&page);

    // Paths of another office (its staff member, a terminal that is not this office's).
    let foreign_login = hub.offices[1].staff.clone();
    let go = |b: &Browser, r: &Route, csrf: &str| {
        let path = sample_path(r, &hub.offices[1].number, &foreign_login);
        let (method, b, csrf) = (r.method.clone(), b.clone(), csrf.to_owned());
        async move { b.request(method, &path, &csrf).await }
    };
    for r in routes.iter().filter(|r| !api(r)) {
        let name = format!("{} {}", r.method, r.path);
        let portal = r.path.starts_with("/portal/") && !r.path.starts_with("/portal/static");
        let console = r.path.starts_with("/operator/");
        let mailbox = r.access == Access::Mailbox;
        let post = r.method == reqwest::Method::POST;
        match r.access {
            Access::Public | Access::Login => {
                let (s, _, _) = go(&nobody, r, "").await;
                assert!(s < 500 && s != 403, "{name}: public: {s}");
                continue;
            }
            _ => {}
        }
        // Nobody: to the door's login page, never the page itself.
        let (s, to, _) = go(&nobody, r, "").await;
        let login_page = if console {
            "/operator/login"
        } else if mailbox {
            "/mailbox/login"
        } else {
            "/portal/login"
        };
        assert_eq!((s, to.as_str()), (303, login_page), "{name}: without a session");
        // A change without the session's CSRF token is refused.
        if post {
            let who = if console { &op } else { &admin };
            let (s, _, _) = go(who, r, "wrong").await;
            assert_eq!(s, 403, "{name}: without the CSRF token");
            // The right token in the URL instead of the form is no token: tokens never travel
            // in URLs (logs, history, Referer).
            let (token, path) = (if console { &op_csrf } else { &admin_csrf }, sample_path(r, &hub.offices[1].number, &foreign_login));
            let (s, _, _) = who.clone().post(&format!("{path}?csrf={token}"), &[]).await;
            assert_eq!(s, 403, "{name}: the token in the URL");
        }
        // Logging out ends the session it is tried with: tried above (nobody, CSRF) only.
        if r.path == "/portal/logout" || r.path == "/mailbox/logout" {
            continue;
        }
        if mailbox {
            // An operator's session opens no office's mail.
            let (s, to, _) = go(&op, r, &op_csrf).await;
            assert_eq!((s, to.as_str()), (303, "/mailbox/login"), "{name}: an operator's session");
            // The second factor set up but not passed in this session: log in with the code.
            let (s, to, _) = go(&pending, r, &pending_csrf).await;
            assert_eq!((s, to.as_str()), (303, "/mailbox/login"), "{name}: before the second factor");
            // No second factor at all (whatever the role or password): a password alone never
            // opens the mail; to the portal's page that sets it up.
            for (b, csrf, what) in [(&admin, &admin_csrf, "admin"), (&staff, &staff_csrf, "staff"), (&temp, &temp_csrf, "temporary")] {
                let (s, to, _) = go(b, r, csrf).await;
                assert_eq!((s, to.as_str()), (303, "/portal/security"), "{name}: {what} without a second factor");
            }
            // Past the second factor with an expired password: change it first.
            let (s, to, _) = go(&expired_2fa, r, &expired_2fa_csrf).await;
            assert_eq!((s, to.as_str()), (303, "/portal/password"), "{name}: expired password");
            // Past everything: the page itself; another office's message is not found.
            let (s, to, _) = go(&admin_2fa, r, &csrf_2fa).await;
            assert!(s < 500 && !["/mailbox/login", "/portal/security", "/portal/password"].contains(&to.as_str()), "{name}: {s} {to}");
            if r.path.contains("{id}") {
                assert_eq!(s, 404, "{name}: a message that is not the office's");
            }
            continue;
        }
        if portal {
            // An office user has no console, an operator no portal (separate sessions).
            let (_, to, _) = go(&op, r, &op_csrf).await;
            assert_eq!(to, "/portal/login", "{name}: an operator's session");
            // Second factor set up but not passed in this session.
            let (s, to, _) = go(&pending, r, &pending_csrf).await;
            if r.access == Access::PortalPending {
                assert!(s < 400 && to != "/portal/login", "{name}: before the second factor: {s} {to}");
            } else {
                assert_eq!((s, to.as_str()), (303, "/portal/second-factor"), "{name}: before the second factor");
            }
            // Temporary and expired passwords.
            for (b, csrf, what) in [(&temp, &temp_csrf, "temporary"), (&expired, &expired_csrf, "expired")] {
                let (s, to, _) = go(b, r, csrf).await;
                match r.access {
                    Access::PortalAnyPassword | Access::PortalPending => {
                        assert!(s < 500 && to != "/portal/password" || r.path == "/portal/password", "{name}: {what}: {s} {to}")
                    }
                    _ => assert_eq!((s, to.as_str()), (303, "/portal/password"), "{name}: {what} password"),
                }
            }
            // Staff where an administrator is needed; an administrator without the second factor.
            if matches!(r.access, Access::PortalAdmin | Access::PortalAdminSecondFactor) {
                let (s, _, page) = go(&staff, r, &staff_csrf).await;
                assert!((400..500).contains(&s) || page.contains("管理者"), "{name}: staff: {s}");
            }
            if r.access == Access::PortalAdminSecondFactor {
                let (s, _, page) = go(&admin, r, &admin_csrf).await;
                assert!(page.contains("2段階認証が必要です") || s == 403, "{name}: no second factor: {s} {page}");
            }
        }
        if console {
            let (_, to, _) = go(&admin, r, &admin_csrf).await;
            assert_eq!(to, "/operator/login", "{name}: an office user's session");
            let (s, to, _) = go(&op_pending, r, &op_pending_csrf).await;
            if r.access == Access::OperatorPending {
                assert!(s < 500 && to != "/operator/login", "{name}: before the second factor: {s} {to}");
            } else {
                assert_eq!((s, to.as_str()), (303, "/operator/second-factor"), "{name}: before the second factor");
            }
        }
    }
    // The second factor, once entered, opens the pages (codes one step ahead: each is good once).
    let mut p = pending;
    let (_, to, _) = p.post("/portal/second-factor", &[("csrf", &*pending_csrf), ("code", &totp_code(&secret, 1))]).await;
    assert_eq!(to, "/portal/home");
    let (_, to, _) = op_pending.post("/operator/second-factor", &[("csrf", &*op_pending_csrf), ("code", &totp_code(&op_secret, 1))]).await;
    assert_eq!(to, "/operator/");
    hub.stop().await;
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("renkei-matrix-{name}-{}-{}", std::process::id(), renkei_hub::auth::token()[..8].to_owned()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Values that have broken parsers elsewhere: non-ASCII where digits are expected, right-to-left
/// overrides, NULs, an overlong value, an empty one, full-width digits, percent signs.
fn awkward() -> Vec<String> {
    vec![
        String::new(),
        "２０２５０６".into(),
        "ああ\u{202e}1".into(),
        "%00%ff".into(),
        "-1".into(),
        "99999999999999999999999".into(),
        "x".repeat(500),
    ]
}

/// Every query parameter and form field any route reads.
const FIELDS: [&str; 24] = [
    "status", "sender", "kind", "month", "since", "until", "cursor", "limit", "q", "pref", "action", "office", "to", "note", "name", "on",
    "code", "current", "new", "again", "title", "body", "login", "password",
];

#[tokio::test]
async fn no_input_reaches_a_panic_on_any_route() {
    let hub = Hub::start().await;
    let (t0, admin) = hub.session(0).await;
    let mut portal = Browser::new(&hub);
    portal.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = portal.get("/portal/home").await;
    let csrf = csrf_of(&page);
    // Past the second factor, so that the web mailbox's handlers read the input too.
    portal.set_up_second_factor("/portal", &csrf).await;
    hub.running
        .state
        .store
        .add_operator("ops9", "運営", &renkei_hub::auth::hash_password("Operator2026x").unwrap(), 1, Default::default())
        .await
        .unwrap();
    let mut op = Browser::new(&hub);
    op.post("/operator/login", &[("login", "ops9"), ("password", "Operator2026x")]).await;
    let (_, _, page) = op.get("/operator/security").await;
    let op_csrf = csrf_of(&page);
    op.set_up_second_factor("/operator", &op_csrf).await;
    let enc = |v: &str| {
        v.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>()
    };
    for r in renkei_hub::web::routes() {
        if r.path == "/portal/logout" || r.path == "/mailbox/logout" || (r.path == paths::SESSIONS && r.method == reqwest::Method::DELETE) {
            continue; // they end the session the sweep uses; covered by the matrix
        }
        for v in awkward() {
            let path =
                r.path.replace("{id}", &enc(&v)).replace("{idx}", &enc(&v)).replace("{office}", &enc(&v)).replace("{login}", &enc(&v));
            let query: Vec<String> = FIELDS.iter().map(|k| format!("{k}={}", enc(&v))).collect();
            let name = format!("{} {} with {:?}", r.method, r.path, v.chars().take(12).collect::<String>());
            let status = if api(&r) {
                let mut req = t0.request(r.method.clone(), hub.url(&format!("{path}?{}", query.join("&")))).bearer_auth(&admin);
                if r.method != reqwest::Method::GET && r.method != reqwest::Method::DELETE {
                    req = req.header("content-type", "application/json").body(format!("{{\"to\":{v:?},\"note\":{v:?},\"version\":{v:?}}}"));
                }
                if r.path == paths::EVENTS {
                    req = req.timeout(std::time::Duration::from_millis(500));
                }
                match req.send().await {
                    Ok(resp) => resp.status().as_u16(),
                    Err(e) if r.path == paths::EVENTS && e.is_timeout() => 200,
                    Err(e) => panic!("{name}: connection dropped: {e}"),
                }
            } else {
                let (b, c) = if r.path.starts_with("/operator/") { (&op, &op_csrf) } else { (&portal, &csrf) };
                let url = format!("{path}?{}", query.join("&"));
                let form: Vec<(&str, &str)> =
                    std::iter::once(("csrf", c.as_str())).chain(FIELDS.iter().map(|k| (*k, v.as_str()))).collect();
                let mut b = b.clone();
                if r.method == reqwest::Method::GET { b.get(&url).await.0 } else { b.post(&url, &form).await.0 }
            };
            assert!(status < 500, "{name}: {status}");
        }
    }
    // Still serving, still the same sessions.
    assert_eq!(t0.get(hub.url(paths::INBOX)).bearer_auth(&admin).send().await.unwrap().status(), 200);
    assert_eq!(portal.get("/portal/home").await.0, 200);
    hub.stop().await;
}
