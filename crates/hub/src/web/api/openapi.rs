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
        crate::web::api::office::office, crate::web::api::status::status, crate::web::api::drafts::create_draft, crate::web::api::drafts::list_drafts, crate::web::api::drafts::get_draft, crate::web::api::drafts::update_draft, crate::web::api::drafts::add_draft_files,
        crate::web::api::drafts::remove_draft_file, crate::web::api::drafts::delete_draft, crate::web::api::drafts::send_draft, crate::web::api::notices::notices, crate::web::api::events::events,
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCode, DeliveryState, Event)),
    modifiers(&Security),
    tags((name = "sessions"), (name = "terminals"), (name = "directory"), (name = "messages"), (name = "drafts"), (name = "notices")),
)]
struct ApiDoc;

/// The document as pretty JSON.
pub fn json() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    complete(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// What holds for every operation and is therefore said once here rather than on each handler:
/// a malformed request (a path or query value of the wrong type, a body that is not JSON or not
/// multipart) is a 400 `ErrorBody`; the login routes answer 429 when one address tries too
/// often; the CA certificate is public. And the links between operations (a created draft or
/// message is read, changed and sent by its `id`), which tools such as Schemathesis follow.
fn complete(doc: &mut serde_json::Value) {
    use serde_json::json;
    let error =
        |what: &str| json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}});
    // 代行: the routes an agent may use in an office's name take the office in a header (the
    // router's table says which).
    for r in crate::web::routes().into_iter().filter(|r| r.on_behalf.is_some()) {
        let pointer = format!("/paths/{}/{}", r.path.replace("{idx}", "{index}").replace('/', "~1"), r.method.as_str().to_lowercase());
        let Some(op) = doc.pointer_mut(&pointer).and_then(|o| o.as_object_mut()) else { continue };
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        if let Some(a) = params.as_array_mut() {
            a.push(json!({
                "name": paths::ON_BEHALF_OF, "in": "header", "required": false,
                "description": "代行: 委任を受けた代行業者が、この事業所の名前で操作します（事業所番号10桁） / act for this office as its delegated agent",
                "schema": {"type": "string", "pattern": "^[0-9]{10}$"},
            }));
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(ops) = item.as_object_mut() else { continue };
        for (method, op) in ops.iter_mut() {
            let takes_input =
                op.get("parameters").is_some_and(|p| p.as_array().is_some_and(|a| !a.is_empty())) || op.get("requestBody").is_some();
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            if takes_input && !responses.contains_key("400") {
                responses.insert("400".into(), error("要求の形が正しくありません（項目の型・JSON・multipart） / malformed request"));
            }
            if method == "post" && crate::service::logins::LOGIN_PATHS.contains(&path.as_str()) {
                responses.insert(
                    "429".into(),
                    error("ログインの試行が多すぎます（Retry-After 秒後に再試行） / too many login attempts, retry after Retry-After"),
                );
            }
            if path != paths::CA {
                responses.insert(
                    "426".into(),
                    error("この連携クライアント（x-renkei-client ヘッダーの版）は古いため使えません / renkei client too old, update it"),
                );
            }
            let link = |op: &str| json!({"operationId": op, "parameters": {"id": "$response.body#/id"}});
            let message_link = |op: &str| json!({"operationId": op, "parameters": {"id": "$response.body#/message/id"}});
            let links = match (method.as_str(), path.as_str()) {
                ("post", "/v1/drafts") => Some((
                    "201",
                    json!({
                        "GetDraft": link("get_draft"), "UpdateDraft": link("update_draft"), "AddDraftFiles": link("add_draft_files"),
                        "RemoveDraftFile": link("remove_draft_file"), "SendDraft": link("send_draft"), "DeleteDraft": link("delete_draft"),
                    }),
                )),
                ("post", "/v1/messages") => Some((
                    "201",
                    json!({
                        "GetMessage": message_link("message"), "Download": message_link("download"),
                    }),
                )),
                _ => None,
            };
            if let Some((status, links)) = links
                && let Some(r) = responses.get_mut(status).and_then(|r| r.as_object_mut())
            {
                r.insert("links".into(), links);
            }
        }
        // Public documents: the CA certificate and the operating status (稼働状況) need no login.
        if (path == paths::CA || path == paths::STATUS)
            && let Some(op) = ops.get_mut("get").and_then(|o| o.as_object_mut())
        {
            op.insert("security".into(), json!([]));
        }
    }
    // Date filters: a date, or empty (no filter), as an HTML form sends it.
    for path in ["/v1/inbox", "/v1/sent"] {
        let Some(params) = doc.pointer_mut(&format!("/paths/{}/get/parameters", path.replace('/', "~1"))).and_then(|p| p.as_array_mut())
        else {
            continue;
        };
        for p in params.iter_mut().filter(|p| p["name"] == "since" || p["name"] == "until") {
            p["schema"] = json!({"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "maxLength": 0}]});
        }
        // Any unsigned 32-bit page size is taken (outside 1–200, the nearest).
        for p in params.iter_mut().filter(|p| p["name"] == "limit") {
            p["schema"] = json!({"type": "integer", "minimum": 0, "maximum": u32::MAX});
        }
    }
    if let Some(form) = doc.pointer_mut("/components/schemas/SendForm").and_then(|f| f.as_object_mut()) {
        form.insert("additionalProperties".into(), json!(false));
    }
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
        // Every delegable route documents the header, and no other does.
        let doc: serde_json::Value = serde_json::from_str(&current).unwrap();
        let mut documented = 0;
        for (_, item) in doc["paths"].as_object().unwrap() {
            for (_, op) in item.as_object().unwrap() {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                documented += params.iter().filter(|p| p["name"] == renkei_protocol::paths::ON_BEHALF_OF).count();
            }
        }
        assert_eq!(documented, crate::web::routes().iter().filter(|r| r.on_behalf.is_some()).count());
    }
}
