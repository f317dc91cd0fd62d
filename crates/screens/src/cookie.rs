//! Reading a cookie from the `Cookie` request headers, the same way in every door.

/// The value of cookie `name` among the `Cookie` header values (a request may carry several
/// headers, each with several `name=value` pairs separated by `;`). The first match wins.
pub fn value<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<String> {
    headers
        .into_iter()
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_cookie_among_headers_and_pairs() {
        assert_eq!(super::value(["a=1; b=2", "c=3"], "b").as_deref(), Some("2"));
        assert_eq!(super::value(["a=1", "c=3"], "c").as_deref(), Some("3"));
        assert_eq!(super::value(["ab=1"], "a"), None, "whole names only");
        assert_eq!(super::value(["", ";;", "novalue"], "novalue"), None);
        assert_eq!(super::value(["t=x=y"], "t").as_deref(), Some("x=y"));
    }
}
