//! Offices and operator accounts as the hub's own machine registers them (admin command line).

use crate::error::ApiError;
use crate::service::Actor;
use crate::store::{AuditAction, Office, Store};

/// Registers an office or changes it (name, service kinds, licence), audited.
pub async fn register(store: &Store, actor: Actor<'_>, office: &Office) -> Result<(), ApiError> {
    let detail = format!("name={} kinds={}", office.name, office.kinds.join(","));
    Ok(store.upsert_office(office, crate::jst::now(), actor.audit(AuditAction::OfficeUpsert, Some(&office.number), detail)).await?)
}

/// Adds an operator account with a temporary password; returns the password (shown once).
pub async fn add_operator(store: &Store, actor: Actor<'_>, login: &str, name: &str) -> Result<String, ApiError> {
    let (password, hash) = crate::service::accounts::temporary_password().await?;
    store
        .add_operator(login, name, &hash, crate::jst::now(), actor.audit(AuditAction::OperatorAdd, None, format!("operator={login}")))
        .await?;
    Ok(password)
}

/// Adds a user to an office (admin command line), with a temporary password; returns it.
pub async fn add_user(
    store: &Store,
    actor: Actor<'_>,
    office: &str,
    login: &str,
    role: crate::store::Role,
    name: &str,
) -> Result<String, ApiError> {
    if store.office(office).await?.is_none() {
        return Err(ApiError::new(
            renkei_protocol::ErrorCode::NotFound,
            format!("事業所 {office} は登録されていません"),
            "office not registered",
        ));
    }
    let (password, hash) = crate::service::accounts::temporary_password().await?;
    let new = crate::store::NewUser { login, office, role, name, password_hash: &hash, must_change: true };
    let detail = format!("login={login} role={}", role.as_str());
    store.add_user(&new, crate::jst::now(), actor.audit(AuditAction::UserAdd, Some(office), detail)).await?;
    Ok(password)
}

/// An office the operator creates in the console, with its first administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffice {
    /// 事業所番号.
    pub number: String,
    /// 事業所名 (empty: the registry's name).
    pub name: String,
    /// サービス種類コード, comma separated (empty: the registry's).
    pub kinds: String,
    /// The administrator's name.
    pub admin_name: String,
}

/// The 利用者ID・仮パスワード通知書 of a new office (or of a reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// 事業所番号.
    pub office: String,
    /// 事業所名.
    pub office_name: String,
    /// 利用者ID.
    pub login: String,
    /// The user's name.
    pub name: String,
    /// 仮パスワード (shown once; must be changed at the first login).
    pub password: String,
    /// A warning for the operator (a check digit that fails on a registered number).
    pub warning: Option<String>,
}

/// Creates an office and its first administrator (利用者ID `KJ` + 事業所番号 + `01`, a temporary
/// password), in one transaction, audited. The registry is the truth: a number whose check digit
/// fails is accepted when the registry holds it (with a warning), refused with its hint when not;
/// name and kinds default to the registry's.
pub async fn create_office(store: &Store, actor: Actor<'_>, o: &NewOffice) -> Result<Credentials, ApiError> {
    use renkei_protocol::ErrorCode;
    let bad = |ja: String, en: &str| ApiError::new(ErrorCode::BadRequest, ja, en);
    let number = o.number.trim();
    let n = renkei_spec::ids::OfficeNumber::parse_shape(number)
        .map_err(|p| bad(format!("事業所番号「{number}」: {}", p.ja), "bad office number"))?;
    let entry = store.registry_entry(number).await?;
    let warning = match (n.check_digit_problem(false), &entry) {
        (Some(_), Some(_)) => Some(format!("事業所番号 {number} の検証番号は計算と合いませんが、事業所台帳にある番号なので登録しました")),
        (Some(p), None) => {
            return Err(bad(
                format!("事業所番号「{number}」: {}（事業所台帳にもありません）", p.ja),
                "check digit fails, not in the registry",
            ));
        }
        (None, _) => None,
    };
    if store.office(number).await?.is_some() {
        return Err(bad(
            format!("事業所番号 {number} はすでに登録されています。管理者のパスワードは「事業所の照会」から再発行します"),
            "office exists",
        ));
    }
    let name = Some(o.name.trim()).filter(|s| !s.is_empty()).map(str::to_owned).or_else(|| entry.as_ref().map(|e| e.name.clone()));
    let Some(name) = name else {
        return Err(bad("事業所名を入れてください（事業所台帳にない番号です）".into(), "name missing"));
    };
    let kinds: Vec<String> = if o.kinds.trim().is_empty() {
        entry.as_ref().map(|e| vec![e.kind.clone()]).unwrap_or_default()
    } else {
        o.kinds.split([',', '、', ' ']).map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect()
    };
    if kinds.is_empty() {
        return Err(bad("サービス種類コードを入れてください（例: 43）".into(), "kinds missing"));
    }
    for k in &kinds {
        renkei_spec::ids::ServiceKind::parse(k).map_err(|p| bad(format!("サービス種類コード「{k}」: {}", p.ja), "bad kind"))?;
    }
    let admin_name: String = o.admin_name.trim().chars().take(40).collect();
    let admin_name = if admin_name.is_empty() { "管理者".to_owned() } else { admin_name };
    let login = format!("KJ{number}01");
    let (password, hash) = crate::service::accounts::temporary_password().await?;
    let office = Office { number: number.to_owned(), name: name.clone(), kinds, license_until: None };
    let admin = crate::store::NewUser {
        login: &login,
        office: number,
        role: crate::store::Role::Admin,
        name: &admin_name,
        password_hash: &hash,
        must_change: true,
    };
    let audit = actor.audit(AuditAction::OfficeCreate, Some(number), format!("name={name} admin={login}"));
    store.create_office_with_admin(&office, &admin, crate::jst::now(), audit).await?;
    Ok(Credentials { office: number.to_owned(), office_name: name, login, name: admin_name, password, warning })
}

/// Is an office on the system, with a valid licence? (The API's 事業所検索 and the web
/// mailbox's lookup.)
pub async fn directory(st: &crate::state::AppState, office: &str) -> Result<renkei_protocol::DirectoryEntry, ApiError> {
    Ok(match st.store.office(office).await? {
        Some(o) => renkei_protocol::DirectoryEntry {
            license_valid: crate::service::licence::is_valid(&o, &crate::jst::today_string()),
            office: office.to_owned(),
            registered: true,
            name: Some(o.name),
            service_kinds: o.kinds,
        },
        None => renkei_protocol::DirectoryEntry {
            office: office.to_owned(),
            registered: false,
            license_valid: false,
            name: None,
            service_kinds: vec![],
        },
    })
}

/// Whether a message can reach an office digitally, as the public list and the screens say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// On the system with a valid licence: files reach it through renkei.
    Digital {
        /// 事業所名.
        name: String,
    },
    /// On the system, but its licence is not valid today: nothing reaches it until renewed.
    Lapsed {
        /// 事業所名.
        name: String,
    },
    /// In the national registry, not on the system: post or FAX (and an invitation).
    NotParticipating {
        /// 事業所名 as the registry has it.
        name: String,
    },
    /// Neither on the system nor in the registry (as far as the hub knows).
    Unknown,
}

impl Reach {
    /// The sentence for the office's users.
    pub fn sentence_ja(&self) -> String {
        match self {
            Reach::Digital { name } => format!("{name} はケアプランデータ連携に参加しています。ファイルはデータで届きます。"),
            Reach::Lapsed { name } => {
                format!("{name} は登録されていますが、ライセンスの有効期限が切れているため、いまはデータで届きません。")
            }
            Reach::NotParticipating { name } => {
                format!("{name} はまだケアプランデータ連携に参加していません。帳票を印刷して郵送・FAXし、参加の案内をお送りください。")
            }
            Reach::Unknown => "この事業所番号は事業所台帳にも参加事業所にも見つかりません。番号を確かめてください。".into(),
        }
    }

    /// Files reach the office through renkei today.
    pub fn digital(&self) -> bool {
        matches!(self, Reach::Digital { .. })
    }
}

/// Whether `number` can be reached digitally today: the one rule behind the public list's
/// answer and the screens' lookup (participation is a valid licence, [`crate::service::licence::is_valid`]).
pub async fn reach(st: &crate::state::AppState, number: &str) -> Result<Reach, ApiError> {
    if let Some(o) = st.store.office(number).await? {
        return Ok(if crate::service::licence::is_valid(&o, &crate::jst::today_string()) {
            Reach::Digital { name: o.name }
        } else {
            Reach::Lapsed { name: o.name }
        });
    }
    Ok(match st.store.registry_entry(number).await? {
        Some(r) => Reach::NotParticipating { name: r.name },
        None => Reach::Unknown,
    })
}
