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
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = std::env::temp_dir().join(format!("renkei-testhub-{}-{}", std::process::id(), &renkei_hub::auth::token()[..8]));
        let config =
            Config { listen: "127.0.0.1:0".into(), metrics_listen: "127.0.0.1:0".into(), data_dir: dir.clone(), ..Config::default() };
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
        assert!(self.running.state.revoke(terminal_id, "test").await.expect("revoke"), "no terminal {terminal_id}");
    }

    /// Stops the hub and removes its folder.
    pub async fn stop(self) {
        let _ = self.running.shutdown(std::time::Duration::from_secs(5)).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
