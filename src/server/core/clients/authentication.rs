//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! §2.3): `client_secret_basic`, `client_secret_post`, or — for a public client — its
//! `client_id` alone. Each client is registered for one method and refused the others, and a
//! request may use only one (§2.3: "MUST NOT use more than one authentication method in each
//! request").

use base64::{engine::general_purpose::STANDARD, Engine};
use http::{header, HeaderMap};
use serde::Deserialize;

use super::{ClientRegistration, ClientRegistry};

/// How a client proves itself (RFC 7591 §2 `token_endpoint_auth_method`, the names of the
/// OAuth Token Endpoint Authentication Methods registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A public client: its `client_id` in the body, nothing to prove (PKCE binds its codes).
    None,
    /// The `client_id` and `client_secret` by HTTP Basic (RFC 6749 §2.3.1): the default for a
    /// confidential client.
    ClientSecretBasic,
    /// The `client_id` and `client_secret` as form parameters of the body (RFC 6749 §2.3.1):
    /// what openid-client and many server-side libraries send by default.
    ClientSecretPost,
}

impl AuthMethod {
    /// Every method, as discovery lists them.
    pub const ALL: [AuthMethod; 3] = [Self::None, Self::ClientSecretBasic, Self::ClientSecretPost];

    /// The registry name, as discovery and `OAUTH_CLIENTS_FILE` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// What a request presented as client credentials, wherever it put them.
#[derive(Clone, Copy, Debug, Default)]
pub struct BodyCredentials<'a> {
    /// The body's `client_id`, if any.
    pub client_id: Option<&'a str>,
    /// The body's `client_secret`, if any (`client_secret_post`).
    pub client_secret: Option<&'a str>,
}

/// Why a client could not be authenticated (the endpoints answer `invalid_client`, or
/// `invalid_request` for an ambiguous request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// The Basic credentials and the body name different clients: `invalid_request`.
    #[error("two different client ids")]
    TwoClientIds,
    /// HTTP Basic and a `client_secret` in the body at once (RFC 6749 §2.3): `invalid_request`.
    #[error("more than one client authentication method")]
    TwoMethods,
    /// Unknown client, wrong secret, a malformed `Authorization` header, a method the client is
    /// not registered for, or no credentials at all: `invalid_client` (401).
    #[error("client authentication failed")]
    InvalidClient,
}

impl ClientRegistry {
    /// RFC 6749 §2.3 at the token, revocation and introspection endpoints: the client the
    /// request authenticates as, by the one method it is registered for.
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        body: BodyCredentials<'_>,
    ) -> Result<&ClientRegistration, ClientAuthError> {
        let basic = basic_credentials(headers)?;
        if basic.is_some() && body.client_secret.is_some() {
            return Err(ClientAuthError::TwoMethods);
        }
        let (method, id, secret) = match (&basic, body.client_secret) {
            (Some((id, secret)), _) => {
                if body.client_id.is_some_and(|body| body != id) {
                    return Err(ClientAuthError::TwoClientIds);
                }
                (
                    AuthMethod::ClientSecretBasic,
                    id.as_str(),
                    Some(secret.as_str()),
                )
            }
            (None, Some(secret)) => (
                AuthMethod::ClientSecretPost,
                body.client_id.ok_or(ClientAuthError::InvalidClient)?,
                Some(secret),
            ),
            (None, None) => (
                AuthMethod::None,
                body.client_id.ok_or(ClientAuthError::InvalidClient)?,
                None,
            ),
        };
        self.find(id)
            .filter(|client| client.auth_method() == method)
            .filter(|client| secret.is_none_or(|secret| client.secret_matches(secret)))
            .ok_or(ClientAuthError::InvalidClient)
    }
}

/// The `Authorization: Basic` credentials, form-decoded as RFC 6749 §2.3.1 asks. Another
/// scheme, or a header that cannot be read, is a failed authentication.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ClientAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ClientAuthError::InvalidClient)?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(ClientAuthError::InvalidClient);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ClientAuthError::InvalidClient);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ClientAuthError::InvalidClient)?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or(ClientAuthError::InvalidClient)?;
    let form_decode = |text: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
            .ok()
            .and_then(|mut pairs| pairs.pop())
            .map(|(_, value)| value)
            .ok_or(ClientAuthError::InvalidClient)
    };
    Ok(Some((form_decode(id)?, form_decode(secret)?)))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const SECRET: &str = "0123456789abcdef";

    fn registry() -> ClientRegistry {
        let clients: Vec<ClientRegistration> = serde_json::from_str(&format!(
            r#"[{{"client_id": "basic", "client_secret": "{SECRET}", "kind": "confidential",
                  "redirect_uris": ["https://app.example/cb"]}},
                {{"client_id": "post", "client_secret": "{SECRET}", "kind": "confidential",
                  "token_endpoint_auth_method": "client_secret_post",
                  "redirect_uris": ["https://app.example/cb"]}}]"#
        ))
        .unwrap();
        for client in &clients {
            client.check().unwrap();
        }
        ClientRegistry::new(&clients)
    }

    fn basic(id: &str, secret: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        headers
    }

    fn body<'a>(id: Option<&'a str>, secret: Option<&'a str>) -> BodyCredentials<'a> {
        BodyCredentials {
            client_id: id,
            client_secret: secret,
        }
    }

    fn who(result: Result<&ClientRegistration, ClientAuthError>) -> Result<&str, ClientAuthError> {
        result.map(|client| client.client_id.as_str())
    }

    #[test]
    fn each_client_authenticates_by_its_registered_method_only() {
        let clients = registry();
        let none = HeaderMap::new();
        assert_eq!(
            who(clients.authenticate(&basic("basic", SECRET), body(None, None))),
            Ok("basic")
        );
        assert_eq!(
            who(clients.authenticate(&none, body(Some("post"), Some(SECRET)))),
            Ok("post")
        );
        assert_eq!(
            who(clients.authenticate(&none, body(Some("tokenflight-public"), None))),
            Ok("tokenflight-public")
        );
        // RFC 6749 §2.3: the other method is refused.
        for (headers, credentials) in [
            (basic("post", SECRET), body(None, None)),
            (none.clone(), body(Some("basic"), Some(SECRET))),
            (none.clone(), body(Some("basic"), None)),
            (none.clone(), body(Some("post"), None)),
            (basic("tokenflight-public", ""), body(None, None)),
            (none.clone(), body(Some("tokenflight-public"), Some(SECRET))),
            (none.clone(), body(Some("post"), Some("wrong-wrong-wrong"))),
            (none.clone(), body(None, Some(SECRET))),
            (none.clone(), body(None, None)),
        ] {
            assert_eq!(
                who(clients.authenticate(&headers, credentials)),
                Err(ClientAuthError::InvalidClient),
                "{headers:?} {credentials:?}"
            );
        }
    }

    #[test]
    fn two_methods_or_two_ids_in_one_request_are_invalid_request() {
        let clients = registry();
        assert_eq!(
            who(clients.authenticate(&basic("basic", SECRET), body(None, Some(SECRET)))),
            Err(ClientAuthError::TwoMethods)
        );
        assert_eq!(
            who(clients.authenticate(&basic("basic", SECRET), body(Some("post"), None))),
            Err(ClientAuthError::TwoClientIds)
        );
    }
}
