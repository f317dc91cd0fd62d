//! The OpenAPI document of API v1, generated from the handlers and the protocol types.
//! `renkei-hub openapi` prints it; `docs/openapi.json` is the checked-in copy (a test fails
//! when it is stale).

use renkei_protocol::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "terminal",
            SecurityScheme::MutualTls {
                description: Some(
                    "端末の電子証明書（相互TLS） / terminal certificate (mutual TLS), issued by the hub's CA at enrolment".into(),
                ),
                deprecated: None,
                extensions: None,
            },
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("その端末で開いたセッション / a session opened on that terminal"))
                    .build(),
            ),
        );
        doc.security = Some(vec![SecurityRequirement::new("terminal", Vec::<String>::new()).add("session", Vec::<String>::new())]);
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "renkei 連携基盤 API", version = "1", description = "ケアプランデータ連携の連携基盤（hub）API v1。エラーは ErrorBody（安定したコード・日本語メッセージ）で返します。"),
    paths(
        crate::web::api::terminals::enrol, crate::web::api::sessions::login, crate::web::api::sessions::logout, crate::web::api::sessions::change_password, crate::web::api::terminals::new_enrolment_code, crate::web::api::terminals::ca_pem,
        crate::web::api::directory::directory,
        crate::web::api::send::send, crate::web::api::messages::inbox, crate::web::api::messages::sent, crate::web::api::messages::message, crate::web::api::messages::download, crate::web::api::messages::fetch, crate::web::api::messages::open,
        crate::web::api::drafts::create_draft, crate::web::api::drafts::list_drafts, crate::web::api::drafts::get_draft, crate::web::api::drafts::update_draft, crate::web::api::drafts::add_draft_files,
        crate::web::api::drafts::remove_draft_file, crate::web::api::drafts::delete_draft, crate::web::api::drafts::send_draft, crate::web::api::notices::notices, crate::web::api::events::events,
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, DeliveryState, Event)),
    modifiers(&Security),
    tags((name = "sessions"), (name = "terminals"), (name = "directory"), (name = "messages"), (name = "drafts"), (name = "notices")),
)]
struct ApiDoc;

/// The document as pretty JSON.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let current = super::json();
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored.trim_end() == current.trim_end(),
            "docs/openapi.json is stale: run `cargo run --bin renkei-hub -- openapi > docs/openapi.json`"
        );
        for p in ["/v1/messages", "/v1/inbox", "/v1/drafts/{id}/send", "/v1/events"] {
            assert!(current.contains(p), "{p}");
        }
    }
}
