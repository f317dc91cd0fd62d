//! Setting up a PC for an office: the key pair is generated here (it never leaves the PC), the
//! hub's CA is fetched and its fingerprint shown with check characters, the terminal is enrolled
//! with the one-time code and the administrator's (or a staff user's) ID and password.

use crate::hub::{HubClient, Session, hex, install_crypto, save_session};
use crate::profile::{Profile, Settings, write_private};
use anyhow::{Context as _, bail};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use renkei_protocol::{EnrolRequest, fingerprint_display, paths};
use sha2::{Digest as _, Sha256};
use std::path::Path;

/// The hub's CA as fetched at set-up.
#[derive(Debug, Clone)]
pub struct FetchedCa {
    /// PEM.
    pub pem: String,
    /// Fingerprint with check characters (compare with the enrolment code sheet).
    pub fingerprint: String,
}

/// Fingerprint of the first certificate in a PEM text.
pub fn pem_fingerprint(pem: &str) -> anyhow::Result<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).context("CA証明書（PEM）を読めません")?;
    fingerprint_display(&hex(&Sha256::digest(der.as_ref()))).context("fingerprint")
}

/// Fetches the hub's CA certificate. The connection is not yet verified (the PC has no CA): the
/// clerk compares the fingerprint with the one on the enrolment sheet, or passes it in advance.
pub async fn fetch_ca(hub: &str) -> anyhow::Result<FetchedCa> {
    install_crypto();
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .https_only(true)
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()?;
    let url = format!("{}{}", hub.trim_end_matches('/'), paths::CA);
    let r = http.get(&url).send().await.with_context(|| format!("連携基盤 {hub} に接続できません"))?;
    if !r.status().is_success() {
        bail!("連携基盤 {hub} から CA証明書を取得できません（HTTP {}）", r.status());
    }
    let pem = r.text().await?;
    let fingerprint = pem_fingerprint(&pem)?;
    Ok(FetchedCa { pem, fingerprint })
}

/// What `setup` needs.
#[derive(Debug, Clone)]
pub struct SetupRequest {
    /// Hub URL.
    pub hub: String,
    /// 事業所番号.
    pub office: String,
    /// Login ID.
    pub login: String,
    /// Password.
    pub password: String,
    /// One-time enrolment code.
    pub code: String,
    /// A name for this PC as the office sees it in its terminal list.
    pub label: String,
    /// The hub's CA (fetched or given).
    pub ca_pem: String,
    /// Profile name (default: the office number).
    pub profile: Option<String>,
}

/// Enrols this PC and writes the profile. Nothing is left behind if enrolment fails.
pub async fn setup(home: &Path, req: &SetupRequest) -> anyhow::Result<Profile> {
    let office = renkei_spec::ids::OfficeNumber::parse_shape(req.office.trim())
        .map_err(|p| anyhow::anyhow!("事業所番号「{}」: {}", req.office, p.ja))?
        .to_string();
    let name = req.profile.clone().unwrap_or_else(|| office.clone());
    if home.join(&name).join("profile.toml").exists() {
        bail!("この PC には事業所 {office} のプロファイル「{name}」がもうあります");
    }
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, req.label.as_str());
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?.pem()?;
    let anon = HubClient::anonymous(&req.hub, req.ca_pem.as_bytes())?;
    let resp = anon
        .enrol(&EnrolRequest {
            login: req.login.trim().into(),
            password: req.password.clone(),
            code: req.code.trim().into(),
            csr_pem: csr,
            label: req.label.clone(),
        })
        .await?;
    if resp.office != office {
        bail!("ログインID {} は事業所 {} のものです（{office} ではありません）", req.login, resp.office);
    }
    let mut s = Settings::new(&req.hub, &office);
    s.login = req.login.trim().into();
    s.terminal_id = resp.terminal_id.clone();
    let p = Profile::create(home, &name, s)?;
    let written = (|| -> std::io::Result<()> {
        write_private(&p.dir.join("terminal.key"), key.serialize_pem().as_bytes())?;
        std::fs::write(p.dir.join("terminal.pem"), &resp.certificate_pem)?;
        std::fs::write(p.dir.join("ca.pem"), &resp.ca_pem)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&p.dir);
        return Err(e).context("証明書を保存できません");
    }
    // The office's name, for the screens; and the session kept (owner-only, until it expires),
    // so that the next command does not ask for the password just given.
    let mut p = p;
    let mut c = HubClient::for_profile(&p)?;
    if let Ok(r) = c.login(&req.login, &req.password).await {
        if let Ok(d) = c.directory(&office).await {
            p.settings.office_name = d.name.unwrap_or_default();
            p.save()?;
        }
        save_session(&p, Some(&Session::from_login(req.login.trim(), r))).context("ログイン状態を保存できません")?;
    }
    Ok(p)
}

/// Makes a profile from an existing terminal certificate (the demo terminals of `renkei-hub dev`).
pub fn adopt(home: &Path, name: &str, settings: Settings, terminal_dir: &Path) -> anyhow::Result<Profile> {
    let p = Profile::create(home, name, settings)?;
    write_private(&p.dir.join("terminal.key"), &std::fs::read(terminal_dir.join("terminal.key"))?)?;
    std::fs::copy(terminal_dir.join("terminal.pem"), p.dir.join("terminal.pem"))?;
    std::fs::copy(terminal_dir.join("ca.pem"), p.dir.join("ca.pem"))?;
    Ok(p)
}
