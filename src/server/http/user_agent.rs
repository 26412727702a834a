//! A coarse name for the browser that signed in ("Chromium on Linux"), for the Sessions page:
//! enough for a person to tell their laptop from their phone, too little to fingerprint anyone,
//! and never the raw header (which a client may fill with anything).

use axum::http::{header, HeaderMap};

/// Browser families in the order they must be tested: Edge and Opera also say "Chrome", and
/// every Chromium says "Safari".
const BROWSERS: [(&str, &str); 6] = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("HeadlessChrome/", "Chromium"),
    ("Chrome/", "Chromium"),
    ("Safari/", "Safari"),
];

/// Systems in the order they must be tested: Android says "Linux", iOS says "Mac OS X".
const SYSTEMS: [(&str, &str); 6] = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

/// "Browser on System" from the `User-Agent` header, either half "unknown" when it is not one
/// of the common ones; `None` without a readable header.
pub fn describe(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::USER_AGENT)?.to_str().ok()?;
    let find = |table: &[(&str, &'static str)]| {
        table
            .iter()
            .find(|(marker, _)| raw.contains(marker))
            .map_or("unknown", |(_, name)| *name)
    };
    let (browser, system) = (find(&BROWSERS), find(&SYSTEMS));
    if browser == "unknown" && system == "unknown" {
        return Some("Unknown client".to_owned());
    }
    Some(format!("{browser} on {system}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(user_agent: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(header::USER_AGENT, user_agent.parse().unwrap());
        describe(&headers)
    }

    #[test]
    fn common_browsers_get_a_coarse_name() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "Chromium on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0", "Firefox on Android"),
        ];
        for (raw, expected) in cases {
            assert_eq!(described(raw).as_deref(), Some(expected), "{raw}");
        }
    }

    #[test]
    fn anything_else_is_named_without_echoing_it() {
        assert_eq!(described("curl/8.5.0").as_deref(), Some("Unknown client"));
        assert_eq!(describe(&HeaderMap::new()), None);
    }
}
