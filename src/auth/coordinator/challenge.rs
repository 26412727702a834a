//! Parsing the `WWW-Authenticate` header (RFC 6750 §3): the `Bearer` challenge's `error` and
//! `error_description`, among possibly several challenges, with quoted values and escapes.

/// The parts of a `Bearer` challenge the coordinator uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// The `error` parameter (RFC 6750 §3.1: `invalid_token`, `insufficient_scope`,
    /// `invalid_request`). `None` means no credentials were sent, by the RFC's reading.
    pub error: Option<String>,
    /// The `error_description` parameter: words for developers, not a code to branch on.
    pub description: Option<String>,
}

/// Finds the `Bearer` challenge in a `WWW-Authenticate` value (which may list several schemes),
/// with case-insensitive scheme and parameter names and quoted values with `\` escapes.
pub fn parse_bearer_challenge(header: &str) -> Option<BearerChallenge> {
    let mut lexer = Lexer {
        rest: header.chars().peekable(),
    };
    let mut bearer: Option<BearerChallenge> = None;
    while let Some(word) = lexer.next_word() {
        if lexer.eat('=') {
            let value = lexer.value();
            if let Some(challenge) = bearer.as_mut() {
                match word.to_ascii_lowercase().as_str() {
                    "error" => challenge.error = Some(value),
                    "error_description" => challenge.description = Some(value),
                    _ => {}
                }
            }
        } else if bearer.is_some() {
            break; // A word without `=` starts the next challenge: the Bearer one is complete.
        } else if word.eq_ignore_ascii_case("bearer") {
            bearer = Some(BearerChallenge::default());
        }
    }
    bearer
}

struct Lexer<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Lexer<'_> {
    fn skip_separators(&mut self) {
        while self
            .rest
            .next_if(|c| c.is_whitespace() || *c == ',')
            .is_some()
        {}
    }

    /// A token (scheme or parameter name), or `None` at the end.
    fn next_word(&mut self) -> Option<String> {
        loop {
            self.skip_separators();
            let word = self.take_while(|c| !c.is_whitespace() && c != ',' && c != '=' && c != '"');
            if !word.is_empty() {
                return Some(word);
            }
            // Skip a stray character (`=` or `"`) so malformed input cannot stall the loop.
            self.rest.next()?;
        }
    }

    fn eat(&mut self, expected: char) -> bool {
        while self.rest.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        self.rest.next_if_eq(&expected).is_some()
    }

    /// A parameter value: a quoted string or a bare token.
    fn value(&mut self) -> String {
        while self.rest.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        if self.rest.next_if_eq(&'"').is_none() {
            return self.take_while(|c| !c.is_whitespace() && c != ',');
        }
        let mut value = String::new();
        while let Some(c) = self.rest.next() {
            match c {
                '"' => break,
                '\\' => value.extend(self.rest.next()),
                c => value.push(c),
            }
        }
        value
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut taken = String::new();
        while let Some(c) = self.rest.next_if(|c| keep(*c)) {
            taken.push(c);
        }
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate_parsing_handles_quotes_case_and_several_challenges() {
        let parsed = |header| parse_bearer_challenge(header);
        let full = parsed(
            r#"Bearer realm="tokenflight", error="invalid_token", error_description="The token, it \"expired\"""#,
        )
        .expect("a bearer challenge");
        assert_eq!(full.error.as_deref(), Some("invalid_token"));
        assert_eq!(
            full.description.as_deref(),
            Some(r#"The token, it "expired""#)
        );
        let error_of = |header| parsed(header).and_then(|c| c.error);
        assert_eq!(
            error_of("bearer ERROR=invalid_token").as_deref(),
            Some("invalid_token")
        );
        assert_eq!(
            error_of(r#"Basic realm="x, y", Bearer realm="y", error="insufficient_scope""#)
                .as_deref(),
            Some("insufficient_scope")
        );
        assert_eq!(
            parsed(r#"Bearer realm="tokenflight""#),
            Some(BearerChallenge::default())
        );
        assert_eq!(
            error_of(r#"Bearer realm="x", Basic error="invalid_token""#),
            None
        );
        assert_eq!(parsed(r#"Basic realm="x""#), None);
        assert_eq!(parsed(r#"=== "" ,, ="#), None);
        assert_eq!(
            error_of(r#"Bearer error="unterminated"#).as_deref(),
            Some("unterminated")
        );
    }
}
