//! `renkei-hub dev`: everything on one machine with no set-up — a data directory with SQLite and
//! blobs, a dev CA, a server certificate for localhost/127.0.0.1, and demo offices with users
//! and enrolled terminal certificates for the client.

use crate::app::ensure_pki;
use crate::auth;
use crate::ca::terminal_key_and_csr;
use crate::config::Config;
use crate::service::Actor;
use crate::store::AuditAction;
use crate::store::Role;
use crate::store::{NewUser, Office, Store, Terminal};
use renkei_spec::ids::OfficeNumber;
use std::path::PathBuf;

/// The demo password of every demo user (dev only).
pub const DEMO_PASSWORD: &str = "renkei2025";

/// A demo office as created.
#[derive(Debug, Clone)]
pub struct DemoOffice {
    /// 事業所番号.
    pub number: String,
    /// Name.
    pub name: String,
    /// Service kind.
    pub kind: &'static str,
    /// Administrator login ID.
    pub admin: String,
    /// Staff login ID.
    pub staff: String,
    /// Folder with `terminal.pem`, `terminal.key`, `ca.pem`.
    pub terminal_dir: PathBuf,
}

const DEMO: [(&str, &str, &str); 3] = [
    ("137100001", "さくら居宅介護支援事業所", "43"),
    ("137200002", "ひまわりデイサービス", "15"),
    ("137300003", "あおば訪問介護ステーション", "11"),
];

/// Creates (or finds) the three demo offices. Idempotent.
pub async fn setup(cfg: &Config) -> anyhow::Result<Vec<DemoOffice>> {
    setup_n(cfg, DEMO.len()).await
}

/// Creates (or finds) `n` demo offices: the three named ones, then more (居宅・通所・訪問 in turn)
/// for load tests. Idempotent.
pub async fn setup_n(cfg: &Config, n: usize) -> anyhow::Result<Vec<DemoOffice>> {
    let extra: Vec<(String, String, &'static str)> = (DEMO.len()..n)
        .map(|i| {
            let kind = ["43", "15", "11"][i % 3];
            (format!("1375{:05}", i), format!("負荷試験事業所{i}"), kind)
        })
        .collect();
    let all: Vec<(String, String, &'static str)> =
        DEMO.iter().map(|(b, n, k)| ((*b).to_owned(), (*n).to_owned(), *k)).chain(extra).take(n).collect();
    crate::files::private_dir(&cfg.data_dir)?;
    if let Some(db) = cfg.sqlite_path() {
        crate::files::ensure_private_file(&db)?;
    }
    let (ca, _, _) = ensure_pki(cfg)?;
    let store = Store::open(&cfg.database_url()).await?;
    let now = crate::jst::now();
    let license = time::OffsetDateTime::now_utc().date().saturating_add(time::Duration::days(365)).to_string();
    let mut out = Vec::new();
    for (i, (body, name, kind)) in all.iter().enumerate() {
        let (name, kind): (&str, &'static str) = (name, kind);
        let number = OfficeNumber::from_body(body)?.to_string();
        let admin = format!("KJ{number}01");
        let staff = format!("KJ{number}02");
        let terminal_dir = cfg.data_dir.join("terminals").join(&number);
        if store.office(&number).await?.is_none() {
            store
                .upsert_office(
                    &Office {
                        number: number.clone(),
                        name: (*name).into(),
                        kinds: vec![(*kind).into()],
                        license_until: Some(license.clone()),
                    },
                    now,
                    Actor::Admin.audit(AuditAction::OfficeUpsert, Some(&number), "dev"),
                )
                .await?;
            let hash = auth::hash_password(DEMO_PASSWORD)?;
            for (login, role, label) in [(&admin, Role::Admin, "管理者"), (&staff, Role::Staff, "職員")] {
                let display = format!("{label}（{name}）");
                store
                    .add_user(
                        &NewUser { login, office: &number, role, name: &display, password_hash: &hash, must_change: false },
                        now,
                        Actor::Admin.audit(AuditAction::UserAdd, Some(&number), format!("login={login} dev")),
                    )
                    .await?;
            }
            let (key, csr) = terminal_key_and_csr("demo")?;
            let id = format!("Tdemo{}", i + 1);
            let issued = ca.issue_terminal(&csr, &id, &number, name)?;
            store
                .add_terminal(
                    &Terminal { id, office: number.clone(), label: "デモ端末".into(), serial: issued.serial, revoked_at: None },
                    false,
                    &issued.fingerprint,
                    issued.not_after,
                    now,
                    None,
                    Actor::Admin.audit(AuditAction::Enrol, Some(&number), "dev"),
                )
                .await?;
            crate::files::private_dir(&terminal_dir)?;
            std::fs::write(terminal_dir.join("terminal.pem"), &issued.cert_pem)?;
            crate::files::write_private(&terminal_dir.join("terminal.key"), key.as_bytes())?;
            std::fs::write(terminal_dir.join("ca.pem"), &ca.cert_pem)?;
        }
        out.push(DemoOffice { number, name: name.into(), kind, admin, staff, terminal_dir });
    }
    Ok(out)
}

/// Creates a one-time enrolment code for `office` (what an administrator gets from the API or the
/// portal), valid for the configured hours.
pub async fn enrolment_code(store: &Store, cfg: &Config, office: &str) -> anyhow::Result<String> {
    Ok(crate::service::terminals::new_code(store, &cfg.auth, Actor::Admin, office).await?.code)
}

/// What `dev` prints. `codes` are fresh enrolment codes for the first offices (for `renkei setup`).
pub fn instructions(cfg: &Config, addr: &std::net::SocketAddr, offices: &[DemoOffice], ca_fingerprint: &str, codes: &[String]) -> String {
    let mut s = String::new();
    s.push_str(&format!("\nrenkei-hub（開発用）を https://localhost:{} で起動しました。\n", addr.port()));
    s.push_str(&format!(
        "データ: {}（SQLite・ファイル・開発用CA）\n\nデモ事業所（パスワードはすべて {DEMO_PASSWORD}）:\n",
        cfg.data_dir.display()
    ));
    for o in offices {
        s.push_str(&format!(
            "  {} {}（{}） 管理者 {} / 職員 {} / 端末証明書 {}\n",
            o.number,
            o.name,
            o.kind,
            o.admin,
            o.staff,
            o.terminal_dir.display()
        ));
    }
    s.push_str(&format!("\nCA証明書のフィンガープリント: {ca_fingerprint}\n"));
    if !codes.is_empty() {
        s.push_str("\n新しいPCを登録するには（端末登録コードは1回だけ・24時間有効）:\n");
        for (o, code) in offices.iter().zip(codes) {
            s.push_str(&format!(
                "  renkei setup --hub https://localhost:{} --office {} --login {} --code {code}\n",
                addr.port(),
                o.number,
                o.admin
            ));
        }
    }
    if let Some(o) = offices.first() {
        let d = o.terminal_dir.display();
        s.push_str(&format!(
            "\n次にすること（curl で送受信を試す。詳しくは docs/hub-dev.md）:\n  curl --cacert {d}/ca.pem --cert {d}/terminal.pem --key {d}/terminal.key \\\n       -H 'content-type: application/json' -d '{{\"login\":\"{}\",\"password\":\"{DEMO_PASSWORD}\"}}' https://localhost:{}/v1/sessions\n",
            o.admin,
            addr.port()
        ));
    }
    s.push_str("\n止めるには Ctrl+C。\n");
    s
}
