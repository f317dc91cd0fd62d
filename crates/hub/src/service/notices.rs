//! Notices (お知らせ) from the operator: to every office or one, from the console or the admin
//! command line. Published with their audit row in one transaction.

use crate::error::ApiError;
use crate::service::Actor;
use crate::store::{AuditAction, NewNotice, NoticeRow, Store};
use renkei_protocol::ErrorCode;

/// Publishes a notice. Subscribers hear of it through the hub's notice poll (every node, every
/// process), so that a notice published by the admin command reaches them too.
pub async fn publish(store: &Store, actor: Actor<'_>, office: Option<&str>, title: &str, body: &str) -> Result<NoticeRow, ApiError> {
    let (title, body) = (title.trim().chars().take(100).collect::<String>(), body.trim().chars().take(4000).collect::<String>());
    if title.is_empty() || body.is_empty() {
        return Err(ApiError::new(ErrorCode::BadRequest, "件名と本文を入れてください", "title and body are required"));
    }
    let n = NewNotice {
        public_id: crate::auth::token()[..32].to_owned(),
        office: office.map(str::to_owned),
        kind: "operator".into(),
        title: title.clone(),
        body,
    };
    Ok(store.add_notice(&n, crate::jst::now(), actor.audit(AuditAction::Notice, office, title)).await?)
}
