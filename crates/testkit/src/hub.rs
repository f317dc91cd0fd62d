//! An in-process hub on port 0 with a throwaway CA and the three demo offices (feature `hub`).

pub use renkei_hub::dev::{DEMO_PASSWORD, DemoOffice};
use renkei_hub::{Config, Running};
use std::path::PathBuf;

/// A hub running in this process, on SQLite in a temporary folder.
#[derive(Debug)]
pub struct TestHub {
    /// The running hub.
    pub running: Running,
    /// Its data folder (removed by [`TestHub::stop`]).
    pub dir: PathBuf,
    /// The demo offices: 0 = 居宅 1371000017, 1 = 通所 1372000024, 2 = 訪問 1373000031.
    pub offices: Vec<DemoOffice>,
    /// Its configuration.
    pub config: Config,
}

impl TestHub {
    /// Starts a hub with the demo offices.
    pub async fn start() -> TestHub {
        TestHub::start_with(|_| {}).await
    }

    /// Starts a hub with the demo offices and a changed configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestHub {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("renkei-testhub-{}-{}", std::process::id(), &renkei_hub::auth::token()[..8]));
        let mut config =
            Config { listen: "127.0.0.1:0".into(), metrics_listen: "127.0.0.1:0".into(), data_dir: dir.clone(), ..Config::default() };
        tweak(&mut config);
        let offices = renkei_hub::dev::setup(&config).await.expect("demo offices");
        let running = renkei_hub::start(config.clone()).await.expect("hub starts");
        TestHub { running, dir, offices, config }
    }

    /// `https://localhost:<port>`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.running.addr.port())
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        self.running.state.ca.cert_pem.clone()
    }

    /// The CA fingerprint as shown to people.
    pub fn ca_fingerprint(&self) -> String {
        self.running.state.ca.fingerprint_display()
    }

    /// A fresh one-time enrolment code for an office.
    pub async fn enrolment_code(&self, office: &str) -> String {
        renkei_hub::dev::enrolment_code(&self.running.state.store, &self.config, office).await.expect("enrolment code")
    }

    /// Revokes a terminal as the operator would (`renkei-hub ca revoke`).
    pub async fn revoke(&self, terminal_id: &str) {
        assert!(
            renkei_hub::service::terminals::revoke(&self.running.state, renkei_hub::service::Actor::Admin, None, terminal_id)
                .await
                .expect("revoke"),
            "no terminal {terminal_id}"
        );
    }

    /// Registers an office as the registry import would (any number of the right shape, its
    /// check digit unchecked: the registry is the truth), licensed through 2099.
    pub async fn register_office(&self, number: &str, name: &str, kind: &str) {
        let office = renkei_hub::store::Office {
            number: number.into(),
            name: name.into(),
            kinds: vec![kind.into()],
            license_until: Some("2099-12-31".into()),
        };
        renkei_hub::service::offices::register(&self.running.state.store, renkei_hub::service::Actor::Admin, &office)
            .await
            .expect("register office");
    }

    /// Sets 稼働状況 to 障害発生中 with `text`, as an operator would in the console.
    pub async fn set_incident(&self, text: &str) {
        let change = renkei_hub::service::status::StatusChange::incident(text);
        renkei_hub::service::status::set(
            &self.running.state.store,
            renkei_hub::service::Actor::Admin,
            "test",
            &change,
            renkei_hub::jst::now(),
        )
        .await
        .expect("status set");
    }

    /// Exports this month's deduction list of `prefecture`, as the operator does: the waiting
    /// licence years of offices paying by deduction start.
    pub async fn schedule_deductions(&self, prefecture: i64) {
        let today = renkei_hub::jst::today();
        let month = format!("{}-{:02}", today.year(), u8::from(today.month()));
        renkei_hub::service::licence::export_deductions(&self.running.state, renkei_hub::service::Actor::Admin, prefecture, &month, true)
            .await
            .expect("deductions exported");
    }

    /// Registers a new office without a license, with an administrator holding a temporary
    /// password (what the operator hands out): returns (事業所番号, login ID, temporary password).
    pub async fn new_office(&self, body: &str, name: &str, kind: &str) -> (String, String, String) {
        use renkei_hub::store::{NewUser, Office};
        let number = renkei_spec::ids::OfficeNumber::from_body(body).expect("valid body").to_string();
        let store = &self.running.state.store;
        let now = time_now();
        store
            .upsert_office(
                &Office { number: number.clone(), name: name.into(), kinds: vec![kind.into()], license_until: None },
                now,
                Default::default(),
            )
            .await
            .expect("office");
        let login = format!("KJ{number}01");
        let password = renkei_hub::auth::temporary_password();
        let hash = renkei_hub::auth::hash_password(&password).expect("hash");
        store
            .add_user(
                &NewUser {
                    login: &login,
                    office: &number,
                    role: renkei_hub::store::Role::Admin,
                    name: "管理者",
                    password_hash: &hash,
                    must_change: true,
                },
                now,
                Default::default(),
            )
            .await
            .expect("user");
        (number, login, password)
    }

    /// The code an authenticator app shows now for a secret from a 2段階認証 page, `steps`
    /// periods of 30 seconds ahead (a code is accepted once).
    pub fn totp_code(secret: &str, steps: u64) -> String {
        renkei_hub::service::second_factor::code_at(secret, time_now() as u64 + steps * 30).expect("TOTP code")
    }

    /// Registers `number` as a 代行業者, as an operator does in the console.
    pub async fn register_agent(&self, number: &str) {
        renkei_hub::service::delegations::register_agent(&self.running.state.store, renkei_hub::service::Actor::Admin, number)
            .await
            .expect("register agent");
    }

    /// `office`'s administrator (`admin` login, its second factor passed) delegates `send` /
    /// `receive` to `agent` from today until `until` (YYYY-MM-DD, empty: until revoked), as in
    /// the portal's 代行 page; returns the delegation's id.
    pub async fn delegate(&self, admin: &str, agent: &str, send: bool, receive: bool, until: &str) -> i64 {
        let store = &self.running.state.store;
        let user = store.user_by_login(admin).await.expect("user").expect("admin exists");
        let grant = renkei_hub::service::delegations::Grant {
            agent: agent.into(),
            may_send: send,
            may_receive: receive,
            starts_on: String::new(),
            ends_on: until.into(),
        };
        renkei_hub::service::delegations::grant(store, renkei_hub::service::Actor::Admin, &user, true, &grant).await.expect("delegation")
    }

    /// Adds an operator account for the console.
    pub async fn add_operator(&self, login: &str, password: &str) {
        let hash = renkei_hub::auth::hash_password(password).expect("hash");
        self.running.state.store.add_operator(login, "運営者", &hash, time_now(), Default::default()).await.expect("operator");
    }

    /// Imports an office registry CSV as `renkei-hub registry import` does; returns the rows imported.
    pub async fn import_registry(&self, csv: &[u8]) -> usize {
        let r = renkei_hub::registry::import(&self.running.state.store, csv, time_now(), 5000, |_, _| {}).await.expect("import");
        assert!(r.errors.is_empty(), "{:?}", r.errors.first());
        r.imported
    }

    /// Stops the hub and removes its folder.
    pub async fn stop(self) {
        let _ = self.running.shutdown(std::time::Duration::from_secs(5)).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn time_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
