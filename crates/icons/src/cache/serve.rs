//! HTTP semantics of serving icons, as a pure function a server adapter calls: path parsing and
//! validation, methods, ETag and conditional requests, and caching of versioned URLs
//! (docs/icons.md, "Serving").

use super::{IconBytes, IconCache, MIME};
use crate::key::{MAX_RESREF, ResRef};

/// A response to send: status, headers, and the body for `GET` 200 responses.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status: 200, 304, 400, 404 or 405.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The icon bytes (`GET` with status 200 only).
    pub body: Option<IconBytes>,
}

impl Response {
    fn status(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `/<prefix>/<name>.webp?v=<version>` (no prefix: `/<name>.webp?v=...`).
pub fn icon_url(prefix: &str, name: &str, version: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        format!("/{name}.webp?v={version}")
    } else {
        format!("/{prefix}/{name}.webp?v={version}")
    }
}

/// The resref named by a request path under `prefix` (`/<prefix>/<name>[.webp]`): `Ok(None)`
/// when the path is not under the prefix (404, or the next handler); `Err(400)` for a name that
/// is empty, longer than 32 bytes, not ASCII, or holds `/`, `\` or `..` after percent-decoding
/// once.
pub fn parse_request_name(path: &str, prefix: &str) -> Result<Option<ResRef>, u16> {
    let prefix = prefix.trim_matches('/');
    let rest = if prefix.is_empty() {
        path.strip_prefix('/')
    } else {
        path.strip_prefix('/')
            .and_then(|p| p.strip_prefix(prefix))
            .and_then(|p| p.strip_prefix('/'))
    };
    let Some(raw) = rest else {
        return Ok(None);
    };
    let decoded = percent_decode(raw).ok_or(400u16)?;
    let name = match decoded.len().checked_sub(5) {
        Some(cut)
            if decoded
                .get(cut..)
                .is_some_and(|s| s.eq_ignore_ascii_case(b".webp")) =>
        {
            decoded.get(..cut).unwrap_or_default()
        }
        _ => decoded.as_slice(),
    };
    let bad = name.is_empty()
        || name.len() > MAX_RESREF
        || name.contains(&b'/')
        || name.contains(&b'\\')
        || name.windows(2).any(|w| w == b"..");
    if bad {
        return Err(400);
    }
    ResRef::new(name).map(Some).map_err(|_| 400)
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Answers one request for `url` (path and query) under `prefix`.
pub fn respond(
    cache: &IconCache,
    method: &str,
    url: &str,
    prefix: &str,
    if_none_match: Option<&str>,
) -> Response {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let resref = match parse_request_name(path, prefix) {
        Ok(Some(r)) => r,
        Ok(None) => return Response::status(404),
        Err(status) => return Response::status(status),
    };
    if method != "GET" && method != "HEAD" {
        let mut r = Response::status(405);
        r.headers.push(("Allow", "GET, HEAD".into()));
        return r;
    }
    let Some(icon) = cache.get_icon(resref.as_str()) else {
        return Response::status(404);
    };
    let etag = icon.etag();
    let version = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("v="))
        .unwrap_or_default();
    let cache_control = if !version.is_empty() && version == icon.version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let matches = if_none_match.is_some_and(|h| {
        h.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag)
    });
    let mut r = Response::status(if matches { 304 } else { 200 });
    r.headers.push(("ETag", etag));
    r.headers.push(("Cache-Control", cache_control.into()));
    if !matches {
        r.headers.push(("Content-Type", MIME.into()));
        r.headers
            .push(("Content-Length", icon.data.len().to_string()));
        r.headers.push(("X-Content-Type-Options", "nosniff".into()));
        if method == "GET" {
            r.body = Some(icon.data);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        assert_eq!(
            parse_request_name("/icons/IS_X.webp", "/icons/")
                .unwrap()
                .unwrap()
                .as_str(),
            "is_x"
        );
        assert_eq!(
            parse_request_name("/icons/is_x", "icons")
                .unwrap()
                .unwrap()
                .as_str(),
            "is_x"
        );
        assert_eq!(
            parse_request_name("/is%5Fx.webp", "")
                .unwrap()
                .unwrap()
                .as_str(),
            "is_x"
        );
        assert_eq!(parse_request_name("/other/is_x", "icons"), Ok(None));
        assert_eq!(parse_request_name("/icons/../x", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/%2E%2E", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/a%2Fb", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/a%5Cb", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/.webp", "icons"), Err(400));
        assert_eq!(
            parse_request_name(&format!("/icons/{}", "a".repeat(33)), "icons"),
            Err(400)
        );
        assert_eq!(parse_request_name("/icons/%zz", "icons"), Err(400));
        assert_eq!(parse_request_name("/icons/%C3%A9", "icons"), Err(400));
        // Decoded once only: %252E stays "%2E" literally, which is a valid if odd resref.
        assert_eq!(
            parse_request_name("/icons/%252E", "icons")
                .unwrap()
                .unwrap()
                .as_str(),
            "%2e"
        );
        assert_eq!(
            icon_url("/icons/", "is_x", "0123abcd"),
            "/icons/is_x.webp?v=0123abcd"
        );
        assert_eq!(icon_url("", "is_x", "0123abcd"), "/is_x.webp?v=0123abcd");
    }
}
