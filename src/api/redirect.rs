//! Building `/login?next=…` safely: `next` must stay a path on this site, or the login page would
//! become an open redirect.

/// `next` if it is a path on this site, else `/`: `//evil.example` or `https://…` would make the
/// login page an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    let local = |path: &str| {
        path.starts_with('/')
            && !path.starts_with("//")
            // Browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil.example` and
            // `/\\evil.example` would both become `//evil.example`.
            && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    };
    match next {
        Some(path) if local(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// `<login_page>?next=<next>`, with `next` percent-encoded.
pub fn login_redirect(login_page: &str, next: &str) -> String {
    format!("{login_page}?next={}", encode_query_value(next))
}

/// Percent-encodes everything but unreserved characters and `/`.
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/admin")), "/admin");
        assert_eq!(safe_next(Some("/items?page=2")), "/items?page=2");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "evil",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_login_redirect_encodes_next() {
        assert_eq!(login_redirect("/login", "/admin"), "/login?next=/admin");
        assert_eq!(
            login_redirect("/sign-in", "/a?b=c&d"),
            "/sign-in?next=/a%3Fb%3Dc%26d"
        );
    }
}
