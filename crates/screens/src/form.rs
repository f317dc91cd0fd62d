//! The CSRF token of a browser form travels in the form's body, never in its URL (URLs end up in
//! logs, history and `Referer` headers). Every form of the screens carries it as its **first**
//! field, a hidden input named [`FIELD`]; browsers send fields in the order of the page, so a door
//! reads only the first few KiB of a body to find it and passes the rest on untouched — a large
//! upload is never buffered for the check.
//!
//! Both `application/x-www-form-urlencoded` and `multipart/form-data` bodies are understood.
//! Scripts that send no form (htmx) carry the token in the `X-CSRF-Token` header instead.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// The name of the hidden input that carries the token.
pub const FIELD: &str = "csrf";

/// How far into a body the token may be looked for.
pub const HEAD_LIMIT: usize = 8 * 1024;

/// What the start of a body says about its leading token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leading {
    /// The first field is the token, with this value.
    Token(String),
    /// The body so far is too short to tell.
    NeedMore,
    /// The first field is something else (or the body is not a form).
    Absent,
}

/// Looks at the start of a form body. `complete` says that `head` is the whole body.
#[must_use]
pub fn leading_token(content_type: &str, head: &[u8], complete: bool) -> Leading {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => urlencoded(head, complete),
        "multipart/form-data" => match boundary(content_type) {
            Some(b) => multipart(&b, head, complete),
            None => Leading::Absent,
        },
        _ => Leading::Absent,
    }
}

fn urlencoded(head: &[u8], complete: bool) -> Leading {
    let prefix = format!("{FIELD}=");
    if head.len() < prefix.len() {
        return if complete || !prefix.as_bytes().starts_with(head) { Leading::Absent } else { Leading::NeedMore };
    }
    let Some(rest) = head.strip_prefix(prefix.as_bytes()) else { return Leading::Absent };
    match rest.iter().position(|&b| b == b'&') {
        Some(end) => token(&rest[..end]),
        None if complete => token(rest),
        None => Leading::NeedMore,
    }
}

fn multipart(boundary: &str, head: &[u8], complete: bool) -> Leading {
    let opening = format!("--{boundary}\r\n");
    if head.len() < opening.len() {
        return if complete || !opening.as_bytes().starts_with(head) { Leading::Absent } else { Leading::NeedMore };
    }
    let Some(rest) = head.strip_prefix(opening.as_bytes()) else { return Leading::Absent };
    let Some(headers_end) = find(rest, b"\r\n\r\n") else {
        return if complete { Leading::Absent } else { Leading::NeedMore };
    };
    let headers = String::from_utf8_lossy(&rest[..headers_end]).to_ascii_lowercase();
    let named =
        headers.lines().any(|l| l.starts_with("content-disposition:") && l.split(';').any(|p| p.trim() == format!("name=\"{FIELD}\"")));
    if !named {
        return Leading::Absent;
    }
    let value = &rest[headers_end + 4..];
    match find(value, format!("\r\n--{boundary}").as_bytes()) {
        Some(end) => token(&value[..end]),
        None if complete => Leading::Absent,
        None => Leading::NeedMore,
    }
}

/// Tokens are URL-safe (`[A-Za-z0-9_-]`); anything else is not ours.
fn token(raw: &[u8]) -> Leading {
    if !raw.is_empty() && raw.len() <= 256 && raw.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
        Leading::Token(String::from_utf8_lossy(raw).into_owned())
    } else {
        Leading::Absent
    }
}

fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned()).filter(|b| !b.is_empty())
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads from `body` only as much as it takes to find the leading token (at most
/// [`HEAD_LIMIT`] bytes more than one chunk), and gives back the token and the bytes read, which
/// the door puts back in front of the rest of the stream.
///
/// # Errors
/// The body's own error, when reading it fails.
pub async fn read_leading_token<S, E>(content_type: &str, body: &mut S) -> Result<(Option<String>, Bytes), E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut head: Vec<u8> = Vec::new();
    loop {
        // The end of the body, or as far as the token may be: decide on what was read.
        let ended = if head.len() > HEAD_LIMIT {
            true
        } else {
            match body.next().await {
                Some(chunk) => {
                    head.extend_from_slice(&chunk?);
                    false
                }
                None => true,
            }
        };
        match leading_token(content_type, &head, ended) {
            Leading::Token(t) => return Ok((Some(t), Bytes::from(head))),
            Leading::NeedMore if !ended => {}
            Leading::Absent | Leading::NeedMore => return Ok((None, Bytes::from(head))),
        }
    }
}

/// [`read_leading_token`], then the body whole again: the bytes read put back in front of the
/// rest, for the door to hand on.
///
/// # Errors
/// The body's own error, when reading its start fails.
pub async fn token_and_body<S, E>(
    content_type: &str,
    mut body: S,
) -> Result<(Option<String>, impl Stream<Item = Result<Bytes, E>> + use<S, E>), E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let (token, head) = read_leading_token(content_type, &mut body).await?;
    Ok((token, futures_util::stream::once(async move { Ok(head) }).chain(body)))
}

/// Reads the start of a `multipart/form-data` body until it holds the opening boundary line
/// (or the body ends, or [`HEAD_LIMIT`] is passed), and gives the body back whole, that start
/// as its first chunk. Any other body is handed on untouched.
///
/// Why: `multer` 3.1 (behind axum's `Multipart`) looks for the opening boundary, and when its
/// first read of the stream finds nothing yet and a second read, made at once, brings the rest
/// of the body and its end, it reports "incomplete multipart stream" for a complete body.
/// Under load that race refused 0.05–0.4% of HTTP/2 sends. A body whose first chunk holds the
/// opening boundary never takes that path.
///
/// # Errors
/// The body's own error, when reading its start fails.
pub async fn opening_first<S, E>(content_type: &str, mut body: S) -> Result<impl Stream<Item = Result<Bytes, E>> + use<S, E>, E>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let opening = match boundary(content_type) {
        Some(b) if mime == "multipart/form-data" => Some(format!("--{b}")),
        _ => None,
    };
    let mut head: Vec<u8> = Vec::new();
    if let Some(opening) = opening {
        while head.len() <= HEAD_LIMIT && find(&head, opening.as_bytes()).is_none() {
            match body.next().await {
                Some(chunk) => head.extend_from_slice(&chunk?),
                None => break,
            }
        }
    }
    let head = (!head.is_empty()).then(|| Ok(Bytes::from(head)));
    Ok(futures_util::stream::iter(head).chain(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";
    const MP: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn urlencoded_forms_carry_the_token_first() {
        assert_eq!(leading_token(FORM, b"csrf=abc_D-9&name=x", false), Leading::Token("abc_D-9".into()));
        assert_eq!(leading_token(FORM, b"csrf=abc", true), Leading::Token("abc".into()));
        assert_eq!(leading_token(FORM, b"csrf=abc", false), Leading::NeedMore);
        assert_eq!(leading_token(FORM, b"cs", false), Leading::NeedMore);
        assert_eq!(leading_token(FORM, b"cs", true), Leading::Absent);
        assert_eq!(leading_token(FORM, b"name=x&csrf=abc", true), Leading::Absent, "first field only");
        assert_eq!(leading_token(FORM, b"csrf=a%20b&x=1", true), Leading::Absent, "not a token of ours");
        assert_eq!(leading_token(FORM, b"", true), Leading::Absent);
        assert_eq!(leading_token("text/plain", b"csrf=abc", true), Leading::Absent);
    }

    #[test]
    fn multipart_forms_carry_the_token_as_their_first_part() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok123\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\n...";
        assert_eq!(leading_token(MP, body, false), Leading::Token("tok123".into()));
        assert_eq!(leading_token("multipart/form-data; boundary=\"XyZ\"", body, false), Leading::Token("tok123".into()));
        assert_eq!(leading_token(MP, &body[..40], false), Leading::NeedMore);
        assert_eq!(leading_token(MP, &body[..40], true), Leading::Absent);
        let other = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrfx\"\r\n\r\ntok\r\n--XyZ--";
        assert_eq!(leading_token(MP, other, true), Leading::Absent);
        assert_eq!(leading_token("multipart/form-data", body, true), Leading::Absent, "no boundary");
    }

    #[tokio::test]
    async fn reading_stops_at_the_token_and_keeps_every_byte() {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            vec![Ok(Bytes::from_static(b"cs")), Ok(Bytes::from_static(b"rf=t1&a=")), Ok(Bytes::from(vec![b'x'; 100_000]))];
        let mut s = futures_util::stream::iter(chunks);
        let (t, head) = read_leading_token(FORM, &mut s).await.unwrap();
        assert_eq!(t.as_deref(), Some("t1"));
        assert_eq!(&head[..], b"csrf=t1&a=");
        assert_eq!(s.next().await.unwrap().unwrap().len(), 100_000, "the rest is left in the stream");
    }

    #[tokio::test]
    async fn a_multipart_body_starts_with_its_opening_boundary_in_one_chunk() {
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            ["--X", "y", "Z\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n1\r\n", "--XyZ--\r\n"]
                .into_iter()
                .map(|c| Ok(Bytes::from_static(c.as_bytes())))
                .collect();
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.as_ref().unwrap().to_vec()).collect();
        let body = opening_first(MP, futures_util::stream::iter(chunks)).await.unwrap();
        let got: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        assert_eq!(
            &got[0][..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n1\r\n",
            "read until the opening boundary is in"
        );
        assert_eq!(got.concat(), all, "every byte, in order");
        // Not multipart: nothing is read ahead.
        let plain: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"a")), Ok(Bytes::from_static(b"b"))];
        let got: Vec<Bytes> = opening_first(FORM, futures_util::stream::iter(plain)).await.unwrap().map(Result::unwrap).collect().await;
        assert_eq!(got.len(), 2);
        // An empty body stays empty.
        let none: Vec<Result<Bytes, std::io::Error>> = Vec::new();
        assert_eq!(opening_first(MP, futures_util::stream::iter(none)).await.unwrap().count().await, 0);
    }

    #[tokio::test]
    async fn the_body_is_handed_on_whole() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![Ok(Bytes::from_static(b"csrf=t2&note=")), Ok(Bytes::from_static(b"abc"))];
        let (t, body) = token_and_body(FORM, futures_util::stream::iter(chunks)).await.unwrap();
        assert_eq!(t.as_deref(), Some("t2"));
        let all: Vec<Bytes> = body.map(Result::unwrap).collect().await;
        assert_eq!(all.concat(), b"csrf=t2&note=abc");
    }

    #[tokio::test]
    async fn a_body_without_a_token_is_read_no_further_than_the_limit() {
        let mut s = futures_util::stream::iter((0..100).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'c'; 1000]))));
        let (t, head) = read_leading_token("multipart/form-data; boundary=cccc", &mut s).await.unwrap();
        assert_eq!(t, None);
        assert!(head.len() <= HEAD_LIMIT + 1000, "{}", head.len());
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics(ct in ".{0,60}", body in proptest::collection::vec(proptest::num::u8::ANY, 0..300), complete: bool) {
            let _ = leading_token(&ct, &body, complete);
            let _ = leading_token(MP, &body, complete);
            let _ = leading_token(FORM, &body, complete);
        }
    }
}
