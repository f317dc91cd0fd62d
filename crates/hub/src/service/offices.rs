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
    let password = crate::auth::temporary_password();
    let hash = crate::auth::hash_password(&password).map_err(ApiError::internal)?;
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
    let password = crate::auth::temporary_password();
    let hash = crate::auth::hash_password(&password).map_err(ApiError::internal)?;
    let new = crate::store::NewUser { login, office, role, name, password_hash: &hash, must_change: true };
    let detail = format!("login={login} role={}", role.as_str());
    store.add_user(&new, crate::jst::now(), actor.audit(AuditAction::UserAdd, Some(office), detail)).await?;
    Ok(password)
}
