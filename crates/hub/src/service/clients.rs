//! Which of renkei's own clients may use the API: the one rule for refusing outdated ones (the
//! national system does the same), applied to every API request by the web layer.

use crate::error::ApiError;
use renkei_protocol::ErrorCode;

/// A version `X.Y.Z` (missing parts are 0; anything after the numbers, such as `-beta`, is
/// ignored).
pub fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let core = s.trim().split(['-', '+', ' ']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().transpose().ok()?.unwrap_or(0);
    let patch = parts.next().transpose().ok()?.unwrap_or(0);
    parts.next().is_none().then_some((major, minor, patch))
}

/// The version in a client header (`renkei/0.4.0 (linux)`), if it names renkei's client.
pub fn client_version(header: &str) -> Option<&str> {
    let rest = header.trim().strip_prefix("renkei/")?;
    Some(rest.split_whitespace().next().unwrap_or(rest))
}

/// Refuses renkei's client older than `minimum` (empty: any). Requests without the header are
/// other software's and pass; a renkei client whose version cannot be read is refused as
/// outdated (it is not one this hub knows).
pub fn check(minimum: &str, header: Option<&str>) -> Result<(), ApiError> {
    let Some(min) = parse_version(minimum) else { return Ok(()) };
    let Some(version) = header.and_then(client_version) else { return Ok(()) };
    match parse_version(version) {
        Some(v) if v >= min => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::ClientOutdated,
            format!(
                "この連携クライアント（バージョン {version}）は古いため、使えなくなりました。{minimum} 以降に更新してください（送受信の記録と設定はそのまま使えます）"
            ),
            format!("client {version} is older than the minimum {minimum}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("0.4.0"), Some((0, 4, 0)));
        assert_eq!(parse_version("1.2"), Some((1, 2, 0)));
        assert_eq!(parse_version("1.2.3-beta.1"), Some((1, 2, 3)));
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("1.2.3.4"), None);
        assert_eq!(parse_version("x"), None);
        assert_eq!(client_version("renkei/0.3.1 (linux)"), Some("0.3.1"));
        assert_eq!(client_version("curl/8"), None);
    }

    #[test]
    fn only_renkei_clients_older_than_the_minimum_are_refused() {
        assert!(check("", Some("renkei/0.0.1")).is_ok(), "no minimum");
        assert!(check("0.4.0", None).is_ok(), "other software");
        assert!(check("0.4.0", Some("vendor-app/1.0")).is_ok());
        assert!(check("0.4.0", Some("renkei/0.4.0 (windows)")).is_ok());
        assert!(check("0.4.0", Some("renkei/0.10.0")).is_ok(), "numeric, not text, order");
        let e = check("0.4.0", Some("renkei/0.3.9 (linux)")).unwrap_err();
        assert_eq!(e.0.code, ErrorCode::ClientOutdated);
        assert!(e.0.message.contains("0.3.9") && e.0.message.contains("0.4.0 以降に更新"), "{}", e.0.message);
        assert!(check("0.4.0", Some("renkei/garbage")).is_err());
    }
}
