use renkei_hub::dev::{DEMO_PASSWORD, DemoOffice};
use renkei_hub::{Config, Running};
use renkei_protocol::*;
use std::path::PathBuf;

pub struct Hub {
    pub running: Running,
    pub dir: PathBuf,
    pub offices: Vec<DemoOffice>,
    pub config: Config,
    pub pg: Option<crate::conformance::PgDb>,
}

impl Hub {
    pub async fn start() -> Hub {
        Hub::start_with(|_| {}).await
    }

    /// A hub with a tweaked configuration.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Hub {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir =
            std::env::temp_dir().join(format!("renkei-hub-test-{}-{}", std::process::id(), renkei_hub::auth::token()[..8].to_owned()));
        // RENKEI_TEST_HUB_BACKEND=postgres runs every hub test on PostgreSQL (.ci/run does both).
        let pg = match std::env::var("RENKEI_TEST_HUB_BACKEND").as_deref() {
            Ok("postgres") => {
                Some(crate::conformance::PgDb::create(&std::env::var("RENKEI_TEST_POSTGRES_URL").expect("RENKEI_TEST_POSTGRES_URL")).await)
            }
            _ => None,
        };
        let config = Config {
            listen: "127.0.0.1:0".into(),
            metrics_listen: "127.0.0.1:0".into(),
            data_dir: dir.clone(),
            database_url: pg.as_ref().map(|p| p.url.clone()),
            ..Config::default()
        };
        let mut config = config;
        tweak(&mut config);
        let offices = renkei_hub::dev::setup(&config).await.unwrap();
        let running = renkei_hub::start(config.clone()).await.unwrap();
        let want = if config.database_url().starts_with("postgres") { "postgres" } else { "sqlite" };
        assert_eq!(running.state.store.backend_name(), want);
        Hub { running, dir, offices, config, pg }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.running.addr.port())
    }

    fn ca(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.running.state.ca.cert_pem.as_bytes()).unwrap()
    }

    /// A client with the demo terminal certificate of office `i`.
    pub fn terminal(&self, i: usize) -> reqwest::Client {
        let d = &self.offices[i].terminal_dir;
        let mut pem = std::fs::read(d.join("terminal.pem")).unwrap();
        pem.extend(std::fs::read(d.join("terminal.key")).unwrap());
        self.client_with(Some(reqwest::Identity::from_pem(&pem).unwrap()))
    }

    pub fn client_with(&self, id: Option<reqwest::Identity>) -> reqwest::Client {
        let mut b = reqwest::Client::builder().tls_certs_only([self.ca()]).https_only(true).resolve("localhost", self.running.addr);
        if let Some(id) = id {
            b = b.identity(id);
        }
        b.build().unwrap()
    }

    /// A client without a certificate.
    pub fn anonymous(&self) -> reqwest::Client {
        self.client_with(None)
    }

    pub async fn login(&self, c: &reqwest::Client, login: &str) -> String {
        let r = c
            .post(self.url(paths::SESSIONS))
            .json(&LoginRequest { login: login.into(), password: DEMO_PASSWORD.into() })
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        r.json::<LoginResponse>().await.unwrap().token
    }

    /// Terminal client and session of office `i`'s administrator.
    pub async fn session(&self, i: usize) -> (reqwest::Client, String) {
        let c = self.terminal(i);
        let t = self.login(&c, &self.offices[i].admin.clone()).await;
        (c, t)
    }

    /// Enrols a second PC for office `i` (code from its administrator, CSR made locally) and
    /// logs its staff user in on it.
    pub async fn second_terminal(&self, i: usize) -> (reqwest::Client, String) {
        let (a, ta) = self.session(i).await;
        let code: EnrolmentCode = a.post(self.url(paths::ENROLMENT_CODES)).bearer_auth(&ta).send().await.unwrap().json().await.unwrap();
        let (key, csr) = renkei_hub::ca::terminal_key_and_csr("2台目").unwrap();
        let req = EnrolRequest {
            login: self.offices[i].staff.clone(),
            password: DEMO_PASSWORD.into(),
            code: code.code,
            csr_pem: csr,
            label: "2台目".into(),
        };
        let e: EnrolResponse = self.anonymous().post(self.url(paths::ENROL)).json(&req).send().await.unwrap().json().await.unwrap();
        let c = self.client_with(Some(reqwest::Identity::from_pem(format!("{}{key}", e.certificate_pem).as_bytes()).unwrap()));
        let t = self.login(&c, &self.offices[i].staff.clone()).await;
        (c, t)
    }

    /// Another node of the same hub: the same database (PostgreSQL) and configuration, its own
    /// data directory holding a copy of the CA (as docs/deploy/README.md tells operators).
    pub async fn another_node(&self) -> Hub {
        let dir =
            std::env::temp_dir().join(format!("renkei-hub-node-{}-{}", std::process::id(), renkei_hub::auth::token()[..8].to_owned()));
        renkei_hub::files::private_dir(&dir.join("ca")).unwrap();
        for f in ["ca.pem", "ca.key"] {
            std::fs::copy(self.dir.join("ca").join(f), dir.join("ca").join(f)).unwrap();
        }
        let config = Config { data_dir: dir.clone(), ..self.config.clone() };
        let running = renkei_hub::start(config.clone()).await.unwrap();
        Hub { running, dir, offices: self.offices.clone(), config, pg: None }
    }

    pub fn office(&self, i: usize) -> renkei_testkit::Office {
        let o = &self.offices[i];
        renkei_testkit::Office {
            number: renkei_spec::ids::OfficeNumber::parse(&o.number, false).unwrap(),
            kind: renkei_spec::ids::ServiceKind::parse(o.kind).unwrap(),
            name: o.name.clone(),
        }
    }

    pub async fn stop(self) {
        self.running.shutdown(std::time::Duration::from_secs(5)).await.unwrap();
        let litter = tmp_litter(&self.dir);
        assert!(litter.is_empty(), "temporary blob files left behind: {litter:?}");
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(pg) = self.pg {
            pg.drop_now().await;
        }
    }
}

/// A client for the demo terminal whose files are in `dir`, talking to a hub on `port`
/// (for hubs running as separate processes).
pub fn client_for_dir(dir: &std::path::Path, port: u16) -> reqwest::Client {
    let mut pem = std::fs::read(dir.join("terminal.pem")).unwrap();
    pem.extend(std::fs::read(dir.join("terminal.key")).unwrap());
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(reqwest::Identity::from_pem(&pem).unwrap())
        .resolve("localhost", addr)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A 第6表/第7表/補足 send unit from office `from` to office `to`.
pub fn slip_unit(hub: &Hub, from: usize, to: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut g = renkei_testkit::Generator::new(seed);
    let month = renkei_spec::calendar::YearMonth::new(2025, 6).unwrap();
    let clients = g.clients(2, 13, month);
    let seq = renkei_spec::calendar::FileSeq::parse("20250525100000").unwrap();
    g.service_slip_unit(&hub.office(from), &hub.office(to), None, &clients, month, seq).into_iter().map(|f| (f.name, f.bytes)).collect()
}

/// A 実績 send unit from provider `from` back to care office `to`.
pub fn actual_unit(hub: &Hub, from: usize, to: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut g = renkei_testkit::Generator::new(seed);
    let month = renkei_spec::calendar::YearMonth::new(2025, 6).unwrap();
    let clients = g.clients(2, 13, month);
    let seq = renkei_spec::calendar::FileSeq::parse("20250703090000").unwrap();
    g.actual_unit(&hub.office(from), &hub.office(to), &clients, month, seq).into_iter().map(|f| (f.name, f.bytes)).collect()
}

pub fn form(to: &str, note: &str, files: &[(String, Vec<u8>)]) -> reqwest::multipart::Form {
    let mut f = reqwest::multipart::Form::new().text("to", to.to_owned()).text("note", note.to_owned());
    for (n, b) in files {
        f = f.part("file", reqwest::multipart::Part::bytes(b.clone()).file_name(n.clone()));
    }
    f
}

pub async fn send(
    hub: &Hub,
    c: &reqwest::Client,
    token: &str,
    to: &str,
    files: &[(String, Vec<u8>)],
    key: Option<&str>,
) -> reqwest::Response {
    let mut r = c.post(hub.url(paths::MESSAGES)).bearer_auth(token).multipart(form(to, "よろしくお願いします", files));
    if let Some(k) = key {
        r = r.header(paths::IDEMPOTENCY_KEY, k);
    }
    r.send().await.unwrap()
}

pub async fn error(r: reqwest::Response) -> ErrorBody {
    let status = r.status().as_u16();
    let b: ErrorBody = r.json().await.unwrap();
    assert_eq!(status, b.code.status(), "{b:?}");
    b
}

/// Files left in `blobs/tmp` (locks of live processes aside): must be none after every test.
pub fn tmp_litter(data_dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![data_dir.join("blobs").join("tmp")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none_or(|x| x != "lock") {
                out.push(p);
            }
        }
    }
    out
}
