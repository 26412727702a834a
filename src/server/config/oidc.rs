//! The identity provider's variables: the ES256 key files and the OAuth clients file. Files are
//! read and checked here, at start-up, so a bad key or client list stops the server with the
//! variable's name instead of failing the first sign-in.

use std::sync::Arc;

use super::ConfigError;
use crate::server::core::{
    clients::ClientRegistration,
    signing::{PrivateKey, PublicJwk, SigningKeys},
};

/// `SIGNING_KEY_FILE` (a PKCS#8 PEM P-256 private key: it signs), `SIGNING_KEY_NEXT_FILE` (a
/// PEM key published in the JWKS before it signs) and `SIGNING_KEY_PREVIOUS_FILES`
/// (comma-separated PEM keys still published and verifying). `None` without a signing key file:
/// the key is then derived from the master secret.
pub(super) fn parse_signing_key_files(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<SigningKeys>>, ConfigError> {
    let read = |name: &'static str, path: &str| {
        std::fs::read_to_string(path.trim()).map_err(|_| ConfigError {
            name,
            value: path.to_owned(),
            reason: "cannot read this file",
        })
    };
    let bad_key = |name: &'static str, path: &str, reason: &'static str| ConfigError {
        name,
        value: path.to_owned(),
        reason,
    };
    // Set but empty counts as unset, so a deploy can clear a variable it templates.
    let lookup = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let next = lookup("SIGNING_KEY_NEXT_FILE");
    let previous = lookup("SIGNING_KEY_PREVIOUS_FILES");
    let Some(path) = lookup("SIGNING_KEY_FILE") else {
        if let Some(path) = next.or(previous) {
            return Err(bad_key(
                "SIGNING_KEY_FILE",
                &path,
                "next and previous key files need SIGNING_KEY_FILE",
            ));
        }
        return Ok(None);
    };
    let signing = PrivateKey::from_pem(&read("SIGNING_KEY_FILE", &path)?)
        .map_err(|reason| bad_key("SIGNING_KEY_FILE", &path, reason))?;
    let next = match next {
        Some(path) => Some(
            PublicJwk::from_pem(&read("SIGNING_KEY_NEXT_FILE", &path)?)
                .map_err(|reason| bad_key("SIGNING_KEY_NEXT_FILE", &path, reason))?,
        ),
        None => None,
    };
    let previous = previous
        .iter()
        .flat_map(|paths| paths.split(','))
        .filter(|path| !path.trim().is_empty())
        .map(|path| {
            PublicJwk::from_pem(&read("SIGNING_KEY_PREVIOUS_FILES", path)?)
                .map_err(|reason| bad_key("SIGNING_KEY_PREVIOUS_FILES", path, reason))
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(Arc::new(SigningKeys::new(signing, next, previous))))
}

/// `OAUTH_CLIENTS_FILE`: a JSON list of clients registered beside the built-in
/// `tokenflight-public` (see [`ClientRegistration`]).
pub(super) fn parse_oauth_clients(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<ClientRegistration>, ConfigError> {
    let Some(path) = lookup("OAUTH_CLIENTS_FILE").filter(|path| !path.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let error = |reason| ConfigError {
        name: "OAUTH_CLIENTS_FILE",
        value: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path.trim()).map_err(|_| error("cannot read this file"))?;
    let clients: Vec<ClientRegistration> = serde_json::from_str(&text).map_err(|_| {
        error(r#"expected [{"client_id", "kind": "public"|"confidential", "client_secret", "redirect_uris": [...], "token_endpoint_auth_method", "grant_types", "resource_server"}]"#)
    })?;
    for client in &clients {
        client.check().map_err(error)?;
    }
    // Two registrations under one id would leave which one a request meets to the order of
    // the file (the first wins): refused, so no client's redirect URIs or secret hide another's.
    let mut ids = std::collections::HashSet::new();
    if !clients
        .iter()
        .all(|client| ids.insert(client.client_id.as_str()))
    {
        return Err(error("two clients share a client_id"));
    }
    Ok(clients)
}
