//! Redirect URIs, parsed whole (RFC 3986 §3 with RFC 6749 §3.1.2): an absolute `http(s)` URI of
//! printable ASCII, with a host, no userinfo and no fragment — anything else is refused before a
//! code is stored, so a redirect can never fail (or answer 500) after it was.

use http::Uri;

/// A redirect URI that passed every check: it can go into a `Location` header as it is.
pub(super) struct RedirectUri {
    uri: Uri,
}

impl RedirectUri {
    /// `None` for anything but an absolute `http(s)` URI with a host and no userinfo, fragment,
    /// space, control or non-ASCII character (RFC 6749 §3.1.2: "MUST NOT include a fragment
    /// component"; RFC 9700 §4.1.1: no lax parsing of redirect URIs).
    pub(super) fn parse(text: &str) -> Option<Self> {
        // `http::Uri` drops a fragment silently and takes some bytes RFC 3986 does not, so
        // those are refused here first.
        if !text.bytes().all(|b| b.is_ascii_graphic()) || text.contains(['#', '\\']) {
            return None;
        }
        let uri: Uri = text.parse().ok()?;
        let authority = uri.authority()?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let host_ok = !authority.host().is_empty() && !authority.as_str().contains('@');
        (scheme_ok && host_ok).then_some(Self { uri })
    }

    /// The host, and the port when it is a loopback one (RFC 8252 §7.3: "MUST allow any port to
    /// be specified at the time of the request for loopback IP redirect URIs"); `None` for any
    /// other host or for `https`.
    pub(super) fn loopback(&self) -> Option<Loopback<'_>> {
        let host = self.uri.host()?;
        let is_loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1");
        (self.uri.scheme_str() == Some("http") && is_loopback).then(|| Loopback {
            host,
            path_and_query: self.uri.path_and_query().map_or("/", |pq| pq.as_str()),
        })
    }
}

/// A loopback redirect URI without its port: what must match when the port may differ.
#[derive(PartialEq, Eq)]
pub(super) struct Loopback<'a> {
    host: &'a str,
    path_and_query: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_absolute_http_uris_parse() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1:4711/callback?x=1",
            "http://[::1]:9/cb",
            "http://127.0.0.1:1/%0A",
        ] {
            assert!(RedirectUri::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:1/\n",
            "http://127.0.0.1:1/\r\nSet-Cookie:x=1",
            "http://127.0.0.1:1/a b",
            "http://127.0.0.1:1/\t",
            "http://127.0.0.1:1/cb#frag",
            "http://user@127.0.0.1:1/cb",
            "http://localhost@evil.example/",
            "http://127.0.0.1:1/caf\u{e9}",
            "http:\\\\evil.example",
            "javascript:alert(1)",
            "/relative",
            "ftp://app.example/",
            "http:///no-host",
        ] {
            assert!(RedirectUri::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_loopback_uri_is_known_by_host_path_and_query() {
        let loopback = |text: &str| {
            let uri = RedirectUri::parse(text).unwrap();
            uri.loopback()
                .map(|l| (l.host.to_owned(), l.path_and_query.to_owned()))
        };
        assert_eq!(
            loopback("http://127.0.0.1:8080/cb?a=1"),
            Some(("127.0.0.1".into(), "/cb?a=1".into()))
        );
        assert_eq!(
            loopback("http://[::1]/"),
            Some(("[::1]".into(), "/".into()))
        );
        assert_eq!(loopback("https://127.0.0.1:8080/cb"), None);
        assert_eq!(loopback("http://127.0.0.1.evil.example/cb"), None);
    }
}
