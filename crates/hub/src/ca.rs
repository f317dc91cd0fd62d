//! The hub's certificate authority: a CA key and certificate on disk, server certificates,
//! terminal certificates signed from a CSR (the terminal's key never leaves the PC), and the CRL.

use crate::auth::{hex, sha256_hex};
use anyhow::{Context as _, bail};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertificateSigningRequestParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SanType,
    SerialNumber,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// The SAN URI prefix naming the office a terminal acts for.
pub const OFFICE_URI_PREFIX: &str = "urn:renkei:office:";

/// A loaded CA.
#[derive(Debug)]
pub struct Ca {
    dir: PathBuf,
    /// CA certificate (PEM).
    pub cert_pem: String,
    key_pem: String,
}

/// A terminal certificate just issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Certificate (PEM).
    pub cert_pem: String,
    /// Serial (hex).
    pub serial: String,
    /// SHA-256 of the DER (hex).
    pub fingerprint: String,
    /// Expiry (unix seconds).
    pub not_after: i64,
}

/// Lifetime of a server certificate, in days (browsers accept at most 397).
pub const SERVER_CERT_DAYS: i64 = 397;

fn write_private(path: &Path, data: &str) -> std::io::Result<()> {
    crate::files::write_private(path, data.as_bytes())
}

fn random_serial() -> SerialNumber {
    let mut b = [0u8; 16];
    rand::fill(&mut b);
    b[0] &= 0x7f; // positive
    SerialNumber::from_slice(&b)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

impl Ca {
    /// The CA certificate's fingerprint as people compare it (see
    /// [`renkei_protocol::fingerprint_display`]).
    pub fn fingerprint_display(&self) -> String {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).map(|d| d.to_vec()).unwrap_or_default();
        renkei_protocol::fingerprint_display(&sha256_hex(&der)).unwrap_or_default()
    }

    /// Creates a CA in `dir` (`ca.pem`, `ca.key`). Refuses to overwrite an existing CA.
    pub fn init(dir: &Path, name: &str) -> anyhow::Result<Ca> {
        crate::files::private_dir(dir)?;
        if dir.join("ca.pem").exists() {
            bail!("a CA already exists in {}", dir.display());
        }
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "renkei");
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        p.not_before = now() - Duration::hours(1);
        p.not_after = now() + Duration::days(3650);
        p.serial_number = Some(random_serial());
        let cert = p.self_signed(&key)?;
        let ca = Ca { dir: dir.to_owned(), cert_pem: cert.pem(), key_pem: key.serialize_pem() };
        std::fs::write(dir.join("ca.pem"), &ca.cert_pem)?;
        write_private(&dir.join("ca.key"), &ca.key_pem)?;
        Ok(ca)
    }

    /// Loads the CA of `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Ca> {
        let cert_pem = std::fs::read_to_string(dir.join("ca.pem"))
            .with_context(|| format!("no CA in {} (run `renkei-hub ca init`)", dir.display()))?;
        let key_pem = std::fs::read_to_string(dir.join("ca.key")).context("reading ca.key")?;
        Ok(Ca { dir: dir.to_owned(), cert_pem, key_pem })
    }

    fn with_issuer<T>(&self, f: impl FnOnce(&Issuer<'_, KeyPair>) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let key = KeyPair::from_pem(&self.key_pem)?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, key)?;
        f(&issuer)
    }

    /// Issues a server certificate for DNS names and IP addresses; returns (cert PEM, key PEM).
    pub fn issue_server(&self, names: &[String]) -> anyhow::Result<(String, String)> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, names.first().cloned().unwrap_or_else(|| "renkei-hub".into()));
        p.distinguished_name = dn;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.not_before = now() - Duration::hours(1);
        // Within the 397 days browsers accept for a server certificate.
        p.not_after = now() + Duration::days(SERVER_CERT_DAYS);
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(random_serial());
        let cert = self.with_issuer(|i| Ok(p.signed_by(&key, i)?))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Signs a terminal certificate from a CSR. Only the CSR's public key is used: the subject,
    /// office and usage are set by the hub.
    pub fn issue_terminal(&self, csr_pem: &str, terminal_id: &str, office: &str, office_name: &str) -> anyhow::Result<Issued> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem).context("CSR")?;
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, terminal_id);
        dn.push(DnType::OrganizationName, office_name);
        dn.push(DnType::OrganizationalUnitName, office);
        p.distinguished_name = dn;
        p.subject_alt_names = vec![SanType::URI(format!("{OFFICE_URI_PREFIX}{office}").try_into()?)];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let not_after = now() + Duration::days(730);
        p.use_authority_key_identifier_extension = true;
        p.not_before = now() - Duration::hours(1);
        p.not_after = not_after;
        let serial = random_serial();
        p.serial_number = Some(serial.clone());
        let cert = self.with_issuer(|i| Ok(p.signed_by(&csr.public_key, i)?))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            serial: hex(serial.as_ref()),
            fingerprint: sha256_hex(cert.der()),
            not_after: not_after.unix_timestamp(),
        })
    }

    /// Issues a browser certificate (ブラウザー用): a key made here, a terminal certificate for it
    /// ([`Ca::issue_terminal`]), both with this CA's certificate in a PKCS#12 file encrypted with
    /// `password` (PBES2, PBKDF2-HMAC-SHA-256, AES-256-CBC; HMAC-SHA-256 MAC), which browsers and
    /// the operating systems' certificate stores import. The key is kept nowhere else.
    pub fn issue_browser(&self, terminal_id: &str, office: &str, office_name: &str, password: &str) -> anyhow::Result<(Issued, Vec<u8>)> {
        let (key_pem, csr_pem) = terminal_key_and_csr(terminal_id)?;
        let issued = self.issue_terminal(&csr_pem, terminal_id, office, office_name)?;
        let der = |pem: &str| -> anyhow::Result<Vec<u8>> {
            let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| anyhow::anyhow!("PEM: {e}"))?;
            Ok(p.contents)
        };
        let key = p12_keystore::PrivateKey::from_der(&KeyPair::from_pem(&key_pem)?.serialize_der())?;
        let chain =
            [p12_keystore::Certificate::from_der(&der(&issued.cert_pem)?)?, p12_keystore::Certificate::from_der(&der(&self.cert_pem)?)?];
        let mut store = p12_keystore::KeyStore::new();
        let id = sha256_hex(chain[0].as_der());
        store.add_entry(
            terminal_id,
            p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(id.as_bytes(), key, chain)),
        );
        let p12 = store
            .writer(password)
            .encryption_algorithm(p12_keystore::EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .mac_algorithm(p12_keystore::MacAlgorithm::HmacSha256)
            .write()?;
        Ok((issued, p12))
    }

    /// Signs a CRL listing revoked serials `(hex, unix seconds)`; writes it to `crl.pem` and
    /// returns the PEM.
    pub fn crl(&self, revoked: &[(String, i64)]) -> anyhow::Result<String> {
        let mut certs = Vec::with_capacity(revoked.len());
        for (serial, at) in revoked {
            let bytes = (0..serial.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&serial[i..i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .context("serial")?;
            certs.push(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&bytes),
                revocation_time: OffsetDateTime::from_unix_timestamp(*at)?,
                reason_code: Some(RevocationReason::Unspecified),
                invalidity_date: None,
            });
        }
        let params = CertificateRevocationListParams {
            this_update: now() - Duration::minutes(5),
            next_update: now() + Duration::days(7),
            crl_number: SerialNumber::from(now().unix_timestamp() as u64),
            issuing_distribution_point: None,
            revoked_certs: certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = self.with_issuer(|i| Ok(params.signed_by(i)?))?;
        let pem = crl.pem()?;
        std::fs::write(self.dir.join("crl.pem"), &pem)?;
        Ok(pem)
    }
}

/// Makes a key pair and CSR for a terminal (what the client does on the PC).
pub fn terminal_key_and_csr(label: &str) -> anyhow::Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, label);
    p.distinguished_name = dn;
    let csr = p.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}
