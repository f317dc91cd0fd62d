//! Configuration: defaults, then a TOML file, then `RENKEI_*` environment variables (`__`
//! separates sections, e.g. `RENKEI_LIMITS__MAX_FILES=50`). Unknown keys are errors.

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Hub configuration. Every key is documented in `crates/hub/hub.example.toml`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// Data directory: database, blobs, CA.
    pub data_dir: PathBuf,
    /// Database URL; default `sqlite:<data_dir>/hub.db`.
    pub database_url: Option<String>,
    /// Names and addresses in the server certificate.
    pub server_names: Vec<String>,
    /// Where Prometheus `/metrics` is served (plain HTTP, loopback); empty disables it.
    pub metrics_listen: String,
    /// Upload limits.
    pub limits: Limits,
    /// Authentication.
    pub auth: Auth,
    /// Retention.
    pub retention: Retention,
    /// License fee.
    pub license: License,
    /// Storage connections.
    pub storage: Storage,
    /// Which clients may connect.
    pub clients: Clients,
    /// Addresses of load balancers in front of this node (HAProxy in TCP mode with
    /// `send-proxy-v2`): their connections start with a PROXY protocol header giving the
    /// client's address, which the hub then uses for login limits and the audit log. Empty: no
    /// balancer; every connection is TLS from its first byte.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Which versions of renkei's own client (`x-renkei-client: renkei/X.Y.Z`) may use the API, as
/// the national system refuses outdated clients. Other API users (vendors' software) send no such
/// header and are not concerned.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Clients {
    /// The oldest version accepted (`0.4.0`); empty: every version.
    pub minimum_version: String,
}

/// How the hub uses its database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    /// Milliseconds a request waits for a database connection (SQLite: for the writer) before it
    /// is answered 503 with `Retry-After`.
    pub acquire_timeout_ms: u64,
    /// PostgreSQL connections per hub node.
    pub max_connections: u32,
    /// Where file content is kept: empty for the data directory's `blobs` folder, or an S3
    /// bucket, `s3://bucket/prefix` (what several nodes must share).
    pub blobs_url: String,
    /// S3 endpoint (empty: `AWS_ENDPOINT`, else Amazon S3).
    pub s3_endpoint: String,
    /// S3 region (empty: `AWS_REGION`, else `us-east-1`).
    pub s3_region: String,
    /// S3 access key ID (empty: `AWS_ACCESS_KEY_ID`).
    pub s3_access_key_id: String,
    /// S3 secret access key (empty: `AWS_SECRET_ACCESS_KEY`; prefer the environment).
    pub s3_secret_access_key: String,
    /// Allows a plain-HTTP S3 endpoint (only for a server on loopback).
    pub s3_allow_http: bool,
    /// Seconds one request to the bucket may take.
    pub s3_timeout_seconds: u64,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            acquire_timeout_ms: 1500,
            max_connections: 16,
            blobs_url: String::new(),
            s3_endpoint: String::new(),
            s3_region: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            s3_allow_http: false,
            s3_timeout_seconds: 10,
        }
    }
}

/// Retention of messages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Days after which an unfetched message expires (the sender gets a non-delivery notice).
    pub expire_unfetched_days: i64,
    /// Days after sending when file content is deleted (records and hashes are kept).
    pub purge_content_days: i64,
    /// Seconds between retention passes.
    pub interval_seconds: i64,
    /// Days an idempotency key is kept: within them, a retry with the same key is answered with
    /// the message it first created (or refused if the request differs); afterwards the key is
    /// forgotten and may be used again.
    pub idempotency_key_days: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { expire_unfetched_days: 30, purge_content_days: 180, interval_seconds: 300, idempotency_key_days: 7 }
    }
}

/// Upload limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Files per message.
    pub max_files: usize,
    /// Bytes per file.
    pub max_file_bytes: usize,
    /// Bytes per message.
    pub max_message_bytes: usize,
    /// Connections open at once (more are closed before the TLS handshake).
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers (slow clients are cut).
    pub header_read_timeout_seconds: u64,
    /// Event streams (`/v1/events`) open at once per session.
    pub event_streams_per_session: usize,
    /// Event streams open at once per client address.
    pub event_streams_per_address: usize,
    /// Requests worked on at once (back pressure; 0: no limit). Past it, a request waits up to
    /// `admission_wait_ms` for a place, then is refused with 503 and `Retry-After` (nothing done).
    pub max_requests_in_flight: usize,
    /// Milliseconds a request may wait for a place before it is refused.
    pub admission_wait_ms: u64,
}

/// License (ライセンス) settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct License {
    /// Yearly fee per 事業所番号, in yen (the national system: 21,000).
    pub fee_yen: i64,
    /// A campaign that waives the fee (e.g. 「フリーパス」); empty: none.
    pub campaign: String,
}

impl Default for License {
    fn default() -> Self {
        License { fee_yen: 21_000, campaign: String::new() }
    }
}

impl License {
    /// The fee in effect (0 under a campaign).
    pub fn fee_now(&self) -> i64 {
        if self.campaign.is_empty() { self.fee_yen } else { 0 }
    }
}

/// Authentication settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Auth {
    /// Consecutive failures that lock a login ID.
    pub max_failures: i64,
    /// Lock duration in minutes.
    pub lockout_minutes: i64,
    /// Session lifetime in hours.
    pub session_hours: i64,
    /// Enrolment code lifetime in hours.
    pub enrolment_code_hours: i64,
    /// Login attempts per client IP address and minute (portal, console, API; 0: no limit).
    pub logins_per_minute_per_ip: u32,
    /// Days a password is valid; afterwards it must be changed at the next login (0: forever).
    pub password_max_days: i64,
}

impl Auth {
    /// When a password set at `set_at` expires (unix seconds), if it does.
    pub fn password_expires(&self, set_at: i64) -> Option<i64> {
        (self.password_max_days > 0).then(|| set_at + self.password_max_days * 86400)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8443".into(),
            data_dir: PathBuf::from("renkei-data"),
            database_url: None,
            server_names: vec!["localhost".into(), "127.0.0.1".into()],
            metrics_listen: "127.0.0.1:9464".into(),
            limits: Limits::default(),
            auth: Auth::default(),
            retention: Retention::default(),
            license: License::default(),
            storage: Storage::default(),
            clients: Clients::default(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 100,
            max_file_bytes: 10 * 1024 * 1024,
            max_message_bytes: 50 * 1024 * 1024,
            max_connections: 4096,
            header_read_timeout_seconds: 10,
            event_streams_per_session: 4,
            event_streams_per_address: 64,
            max_requests_in_flight: 64,
            admission_wait_ms: 250,
        }
    }
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            max_failures: 3,
            lockout_minutes: 30,
            session_hours: 12,
            enrolment_code_hours: 24,
            logins_per_minute_per_ip: 30,
            password_max_days: 180,
        }
    }
}

impl Config {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("hub.db").display()))
    }

    /// The SQLite database file, when the database is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let rest = url.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// Opens the blob store the configuration names: the data directory's `blobs` folder, or
    /// the S3 bucket of `storage.blobs_url` (large uploads spooled in the data directory's
    /// `spool` folder).
    pub fn open_blobs(&self) -> Result<crate::blobs::BlobStore, crate::blobs::BlobError> {
        let s = &self.storage;
        if s.blobs_url.is_empty() {
            return crate::blobs::BlobStore::open(&self.data_dir.join("blobs"));
        }
        let o = crate::blobs::S3Options {
            endpoint: s.s3_endpoint.clone(),
            region: s.s3_region.clone(),
            access_key_id: s.s3_access_key_id.clone(),
            secret_access_key: s.s3_secret_access_key.clone(),
            allow_http: s.s3_allow_http,
            timeout_seconds: s.s3_timeout_seconds,
        };
        crate::blobs::BlobStore::open_s3(&s.blobs_url, &o, &self.data_dir.join("spool"))
    }

    /// How the store connects.
    pub fn store_options(&self) -> crate::store::StoreOptions {
        crate::store::StoreOptions {
            acquire_timeout: std::time::Duration::from_millis(self.storage.acquire_timeout_ms.max(1)),
            max_connections: self.storage.max_connections.max(1),
        }
    }

    /// Loads: defaults, the TOML file (if given), then `RENKEI_*` variables from `env`.
    pub fn load(file: Option<&std::path::Path>, env: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Config> {
        let mut value = toml::Value::try_from(Config::default())?;
        if let Some(f) = file {
            let text = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let file_value: toml::Value = toml::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
            merge(&mut value, file_value);
        }
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("RENKEI_") else { continue };
            // Variables of the office client and of the logs, which share the prefix on a PC
            // that runs both; and the tests'.
            if CLIENT_VARIABLES.contains(&rest) || rest.starts_with("TEST_") {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            set_path(&mut value, &path, parse_scalar(&v)).with_context(|| format!("environment variable {k}"))?;
        }
        let cfg: Config = value.try_into().context("configuration")?;
        if cfg.limits.max_files == 0 || cfg.auth.max_failures < 1 {
            bail!("limits.max_files and auth.max_failures must be at least 1");
        }
        Ok(cfg)
    }
}

/// `RENKEI_*` variables that belong to the office client (`renkei`) or to logging, not to the
/// hub's configuration.
const CLIENT_VARIABLES: &[&str] =
    &["LOG", "LOG_FORMAT", "LANG", "HOME", "PROFILE", "PASSWORD", "NEW_PASSWORD", "OFFICE", "UI_LISTEN", "EVENT", "TITLE", "BODY"];

fn merge(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn parse_scalar(v: &str) -> toml::Value {
    if let Ok(i) = v.parse::<i64>() {
        toml::Value::Integer(i)
    } else if let Ok(b) = v.parse::<bool>() {
        toml::Value::Boolean(b)
    } else if v.starts_with('[') {
        toml::from_str::<toml::Table>(&format!("v = {v}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(v.to_owned()))
    } else {
        toml::Value::String(v.to_owned())
    }
}

fn set_path(v: &mut toml::Value, path: &[String], new: toml::Value) -> anyhow::Result<()> {
    let toml::Value::Table(t) = v else { bail!("not a section") };
    match path {
        [last] => {
            t.insert(last.clone(), new);
            Ok(())
        }
        [first, rest @ ..] => set_path(t.entry(first.clone()).or_insert_with(|| toml::Value::Table(Default::default())), rest, new),
        [] => bail!("empty key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layering_and_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("renkei-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("hub.toml");
        std::fs::write(&f, "listen = \"0.0.0.0:9443\"\n[limits]\nmax_files = 7\n").unwrap();
        let c = Config::load(
            Some(&f),
            [
                ("RENKEI_LIMITS__MAX_FILES".into(), "9".into()),
                ("RENKEI_AUTH__LOCKOUT_MINUTES".into(), "5".into()),
                ("PATH".into(), "x".into()),
            ],
        )
        .unwrap();
        assert_eq!(c.listen, "0.0.0.0:9443");
        assert_eq!(c.limits.max_files, 9);
        assert_eq!(c.auth.lockout_minutes, 5);
        assert_eq!(c.auth.max_failures, 3);
        assert!(Config::load(None, [("RENKEI_LIMITS__MAX_FILEZ".into(), "9".into())]).is_err());
        // The office client's variables on the same PC do not disturb the hub.
        let c = Config::load(None, [("RENKEI_HOME".into(), "/home/x/pc".into()), ("RENKEI_PROFILE".into(), "1371000010".into())]).unwrap();
        assert_eq!(c, Config::default());
        std::fs::write(&f, "listn = \"x\"\n").unwrap();
        assert!(Config::load(Some(&f), []).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_campaign_waives_the_fee() {
        let mut l = License::default();
        assert_eq!(l.fee_now(), 21_000);
        l.campaign = "フリーパス".into();
        assert_eq!(l.fee_now(), 0);
        let c = Config::load(None, [("RENKEI_LICENSE__CAMPAIGN".to_owned(), "フリーパス".to_owned())]).unwrap();
        assert_eq!(c.license.fee_now(), 0, "set from the environment");
    }

    #[test]
    fn example_config_is_complete_and_loads() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("hub.example.toml");
        let c = Config::load(Some(&path), []).unwrap();
        assert_eq!(c, Config { database_url: c.database_url.clone(), ..Config::default() });
        let text = std::fs::read_to_string(&path).unwrap();
        for key in [
            "listen",
            "data_dir",
            "database_url",
            "server_names",
            "max_files",
            "max_file_bytes",
            "max_message_bytes",
            "max_failures",
            "lockout_minutes",
            "session_hours",
            "enrolment_code_hours",
            "logins_per_minute_per_ip",
            "password_max_days",
            "fee_yen",
            "campaign",
            "idempotency_key_days",
            "header_read_timeout_seconds",
            "event_streams_per_session",
            "event_streams_per_address",
            "max_requests_in_flight",
            "admission_wait_ms",
            "acquire_timeout_ms",
            "max_connections",
        ] {
            assert!(text.contains(key), "hub.example.toml lacks {key}");
        }
    }
}
