//! Issue 12: 代行 — an office administrator authorises a registered 代行業者 to send and/or
//! receive in the office's name; the agent works from its own terminal and users; the office
//! sees everything done in its name; the recipient sees 「代行: …」; revocation is immediate.

use crate::common::*;
use crate::portal::{Browser, csrf_of};
use renkei_hub::service::Actor;
use renkei_hub::service::delegations::{self, Grant};
use renkei_protocol::*;

fn grant(agent: &str, send: bool, receive: bool) -> Grant {
    Grant { agent: agent.into(), may_send: send, may_receive: receive, ..Default::default() }
}

#[tokio::test]
async fn an_agent_sends_in_the_office_name_within_its_scope_and_period_until_revoked() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let (principal, recipient, agent) = (hub.offices[0].number.clone(), hub.offices[1].number.clone(), hub.offices[2].number.clone());
    let admin = st.store.user_by_login(&hub.offices[0].admin).await.unwrap().unwrap();
    let staff = st.store.user_by_login(&hub.offices[0].staff).await.unwrap().unwrap();

    // Only a registered agent can be chosen; only an administrator with the second factor gives.
    assert_eq!(
        delegations::grant(&st.store, Actor::Admin, &admin, true, &grant(&agent, true, false)).await.unwrap_err().0.code,
        ErrorCode::BadRequest
    );
    delegations::register_agent(&st.store, Actor::Admin, &agent).await.unwrap();
    assert_eq!(
        delegations::grant(&st.store, Actor::Admin, &staff, true, &grant(&agent, true, false)).await.unwrap_err().0.code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        delegations::grant(&st.store, Actor::Admin, &admin, false, &grant(&agent, true, false)).await.unwrap_err().0.code,
        ErrorCode::SecondFactorRequired
    );
    assert_eq!(
        delegations::grant(&st.store, Actor::Admin, &admin, true, &grant(&agent, false, false)).await.unwrap_err().0.code,
        ErrorCode::BadRequest,
        "a scope is needed"
    );
    let mut past = grant(&agent, true, false);
    past.starts_on = "2020-04-01".into();
    assert_eq!(delegations::grant(&st.store, Actor::Admin, &admin, true, &past).await.unwrap_err().0.code, ErrorCode::BadRequest);
    let id = delegations::grant(&st.store, Actor::Admin, &admin, true, &grant(&agent, true, false)).await.unwrap();

    // The agent's own staff user, on the agent's own terminal, sends a unit in the office's name.
    let t2 = hub.terminal(2);
    let token = hub.login(&t2, &hub.offices[2].staff.clone()).await;
    let files = slip_unit(&hub, 0, 1, 7);
    let r = t2
        .post(hub.url(paths::MESSAGES))
        .bearer_auth(&token)
        .header(paths::ON_BEHALF_OF, &principal)
        .multipart(form(&recipient, "代行で送ります", &files))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let sent: SendResponse = r.json().await.unwrap();
    assert_eq!(sent.message.sender, principal);
    let by = sent.message.agent.clone().expect("the agent is named");
    assert_eq!((by.number.as_str(), by.name.as_str()), (agent.as_str(), hub.offices[2].name.as_str()));
    assert_eq!(by.label(), format!("代行: {}（{agent}）", hub.offices[2].name));

    // The recipient sees 「代行: …」; the office sees the message among its own sent ones; the
    // agent's own sent list does not hold it.
    let (c1, t1) = hub.session(1).await;
    let inbox: MessagePage = c1.get(hub.url(paths::INBOX)).bearer_auth(&t1).send().await.unwrap().json().await.unwrap();
    let got = inbox.messages.iter().find(|m| m.id == sent.message.id).expect("delivered");
    assert_eq!(got.agent.as_ref(), Some(&by));
    let (c0, t0) = hub.session(0).await;
    let own: MessagePage = c0.get(hub.url(paths::SENT)).bearer_auth(&t0).send().await.unwrap().json().await.unwrap();
    assert!(own.messages.iter().any(|m| m.id == sent.message.id && m.agent.as_ref() == Some(&by)));
    let agents_own: MessagePage = t2.get(hub.url(paths::SENT)).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert!(agents_own.messages.iter().all(|m| m.id != sent.message.id), "the message is the office's, not the agent's");
    let for_office: MessagePage = t2
        .get(hub.url(paths::SENT))
        .bearer_auth(&token)
        .header(paths::ON_BEHALF_OF, &principal)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(for_office.messages.iter().any(|m| m.id == sent.message.id), "the agent sees what it sent for the office");

    // Audited under the office with both identities; the office's page lists it.
    let rows = st.store.audit_search(Some("send"), Some(&principal), 10).await.unwrap();
    let row = rows.iter().find(|r| r.detail.starts_with(&format!("agent={agent} "))).expect("audited with the agent");
    assert!(row.detail.contains(&format!("user={}", hub.offices[2].staff)), "{row:?}");
    let o = delegations::overview(&st.store, &principal).await.unwrap();
    assert!(o.actions.iter().any(|a| a.action == "send"), "{:?}", o.actions);
    assert_eq!(o.given.len(), 1);
    let held = delegations::overview(&st.store, &agent).await.unwrap().held;
    assert_eq!(held.iter().map(|d| d.office.as_str()).collect::<Vec<_>>(), [principal.as_str()], "the agent sees who authorised it");

    // Send only: the office's inbox and the messages it received stay closed to the agent.
    let r = t2.get(hub.url(paths::INBOX)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &principal).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::DelegationRefused);
    let note = vec![("連絡.pdf".to_owned(), b"%PDF-1.4 x".to_vec())];
    let reply: SendResponse = send(&hub, &c1, &t1, &principal, &note, None).await.json().await.unwrap();
    let path = format!("/v1/messages/{}", reply.message.id);
    let r = t2.get(hub.url(&path)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &principal).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::DelegationRefused, "received by the office: not the agent's to read");
    let path = format!("/v1/messages/{}", sent.message.id);
    let r = t2.get(hub.url(&path)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &principal).send().await.unwrap();
    assert_eq!(r.status(), 200, "sent for the office: the agent may read it");

    // Revoked: the very next request is refused; the office can no longer be worked for.
    delegations::revoke(&st.store, Actor::Admin, &admin, id).await.unwrap();
    let r = t2
        .post(hub.url(paths::MESSAGES))
        .bearer_auth(&token)
        .header(paths::ON_BEHALF_OF, &principal)
        .multipart(form(&recipient, "", &slip_unit(&hub, 0, 1, 8)))
        .send()
        .await
        .unwrap();
    assert_eq!(error(r).await.code, ErrorCode::DelegationRefused);
    assert_eq!(delegations::revoke(&st.store, Actor::Admin, &admin, id).await.unwrap_err().0.code, ErrorCode::NotFound, "once");
    assert!(st.store.audit_search(Some("delegation.revoke"), Some(&principal), 5).await.unwrap().len() == 1);

    // A period that ended (written as it would stand a year later) is refused too.
    let ended = renkei_hub::store::NewDelegation {
        office: &recipient,
        agent: &agent,
        may_send: true,
        may_receive: true,
        starts_on: "2024-04-01",
        ends_on: Some("2025-03-31"),
        created_by: "test",
    };
    st.store.add_delegation(&ended, 1, Default::default()).await.unwrap();
    let r = t2.get(hub.url(paths::INBOX)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &recipient).send().await.unwrap();
    assert_eq!(error(r).await.code, ErrorCode::DelegationRefused, "outside its period");

    // Receiving for the recipient: the agent downloads and takes (取得) the message; the
    // recipient's audit shows it with the agent, and the sender sees 取得済.
    let recipient_admin = st.store.user_by_login(&hub.offices[1].admin).await.unwrap().unwrap();
    delegations::grant(&st.store, Actor::Admin, &recipient_admin, true, &grant(&agent, false, true)).await.unwrap();
    let path = format!("/v1/messages/{}/files/0", sent.message.id);
    let r = t2.get(hub.url(&path)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &recipient).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), files[0].1.as_slice());
    let path = format!("/v1/messages/{}/fetch", sent.message.id);
    let r = t2.post(hub.url(&path)).bearer_auth(&token).header(paths::ON_BEHALF_OF, &recipient).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let rows = st.store.audit_search(Some("fetch"), Some(&recipient), 10).await.unwrap();
    assert!(rows.iter().any(|r| r.detail.starts_with(&format!("agent={agent} user={}", hub.offices[2].staff))), "{rows:?}");
    let m: MessageInfo =
        c0.get(hub.url(&format!("/v1/messages/{}", sent.message.id))).bearer_auth(&t0).send().await.unwrap().json().await.unwrap();
    assert_eq!(m.state, DeliveryState::Fetched);
    hub.stop().await;
}

#[tokio::test]
async fn the_portal_gives_a_delegation_after_confirmation_and_revokes_it() {
    let hub = Hub::start().await;
    let st = &hub.running.state;
    let agent = hub.offices[2].number.clone();
    delegations::register_agent(&st.store, Actor::Admin, &agent).await.unwrap();
    let mut b = Browser::new(&hub);
    b.post("/portal/login", &[("login", &hub.offices[0].admin), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, page) = b.get("/portal/delegations").await;
    assert!(page.contains("2段階認証が必要です"), "the administrator is told to set up the second factor first: {page}");
    let csrf = csrf_of(&page);
    let (_, _, page) = b.post("/portal/delegations", &[("csrf", &csrf), ("agent", &agent), ("send", "1"), ("receive", "1")]).await;
    assert!(st.store.delegations(&hub.offices[0].number, true).await.unwrap().is_empty(), "nothing given without it: {page}");
    b.set_up_second_factor("/portal", &csrf).await;

    let (_, _, page) = b.get("/portal/delegations").await;
    let csrf = csrf_of(&page);
    assert!(page.contains(&hub.offices[2].name), "the registered agents to choose from: {page}");
    // A grant is shown for confirmation first, and given only then.
    let (_, _, page) = b.post("/portal/delegations", &[("csrf", &csrf), ("agent", &agent), ("send", "1"), ("until", "2099-03-31")]).await;
    assert!(page.contains("代行を委任します") && page.contains("送信のみ") && page.contains("2099-03-31"), "{page}");
    assert!(st.store.delegations(&hub.offices[0].number, true).await.unwrap().is_empty());
    let given_form = [("csrf", csrf.as_str()), ("agent", &agent), ("send", "1"), ("until", "2099-03-31"), ("confirm", "1")];
    let (status, to, _) = b.post("/portal/delegations", &given_form).await;
    assert_eq!((status, to.as_str()), (303, "/portal/delegations?done=granted"), "a reload of the answer gives nothing twice");
    let (_, _, page) = b.get(&to).await;
    assert!(page.contains("代行を委任しました"), "{page}");
    // The same again (a double click): refused by name, still one.
    let (_, _, again) = b.post("/portal/delegations", &given_form).await;
    assert!(again.contains("すでに委任しています"), "{again}");
    let given = st.store.delegations(&hub.offices[0].number, true).await.unwrap();
    assert_eq!(given.len(), 1);
    assert!(page.contains(&format!("id=\"revoke-{}\"", given[0].id)) && page.contains("有効"), "{page}");
    // A wrong choice is named on the page, not given.
    let (_, _, page) = b.post("/portal/delegations", &[("csrf", &csrf), ("agent", &hub.offices[1].number), ("send", "1")]).await;
    assert!(page.contains("代行業者として登録されていません"), "{page}");

    // Staff see the page but cannot give; revoking is at once.
    let mut s = Browser::new(&hub);
    s.post("/portal/login", &[("login", &hub.offices[0].staff), ("password", renkei_hub::dev::DEMO_PASSWORD)]).await;
    let (_, _, spage) = s.get("/portal/delegations").await;
    assert!(!spage.contains("id=\"grant-button\""), "{spage}");
    let scsrf = csrf_of(&spage);
    let (status, _, _) = s.post(&format!("/portal/delegations/{}/revoke", given[0].id), &[("csrf", &scsrf)]).await;
    assert_eq!(status, 403);
    let (_, to, _) = b.post(&format!("/portal/delegations/{}/revoke", given[0].id), &[("csrf", &csrf)]).await;
    let (_, _, page) = b.get(&to).await;
    assert!(page.contains("取り消しました") && page.contains("取消済"), "{page}");
    assert!(st.store.delegations_in_force(&hub.offices[0].number, &agent, &renkei_hub::jst::today_string()).await.unwrap().is_empty());
    hub.stop().await;
}

#[tokio::test]
async fn the_admin_command_registers_an_agent() {
    let hub = Hub::start().await;
    let run = |number: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_renkei-hub"));
        c.args(["office", "agent", number]).env("RENKEI_DATA_DIR", &hub.dir).env("RENKEI_LOG", "warn");
        if let Some(url) = &hub.config.database_url {
            c.env("RENKEI_DATABASE_URL", url);
        }
        c.output().unwrap()
    };
    let o = run(&hub.offices[2].number);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("を代行業者として登録しました"), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(hub.running.state.store.is_agent(&hub.offices[2].number).await.unwrap());
    assert!(!hub.running.state.store.is_agent(&hub.offices[1].number).await.unwrap());
    assert!(!hub.running.state.store.audit_search(Some("agent.register"), Some(&hub.offices[2].number), 5).await.unwrap().is_empty());
    let o = run("1399999999");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("1399999999 は登録されていません"), "{}", String::from_utf8_lossy(&o.stderr));
    hub.stop().await;
}
