//! Which of a user's own claims a granted scope releases, and which claim names a `USERS_FILE`
//! may not use because the provider itself decides them.
//!
//! The scopes are OpenID Connect Core §5.4's: `email`, `phone` and `address` release their
//! claims; `profile` releases the rest (§5.1's profile claims, and any claim no standard scope
//! names, such as `department`), so a client asking for the least learns the least.

use serde_json::{Map, Value};

/// Claims the provider sets itself (JWT registered claims, OIDC ID-token claims, our own
/// `roles`, `sid` and `ver`). A file claim of one of these names would let a user entry
/// impersonate another subject, audience or session; `preferred_username` is the username.
pub const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
    "s_hash",
    "scope",
    "client_id",
    "ver",
    "typ",
    "cnf",
    "roles",
    "preferred_username",
    "_claim_names",
    "_claim_sources",
];

/// The scope that releases `claim` (OIDC Core §5.4); `profile` for any claim no scope names.
pub fn scope_of(claim: &str) -> &'static str {
    match claim {
        "email" | "email_verified" => "email",
        "phone_number" | "phone_number_verified" => "phone",
        "address" => "address",
        _ => "profile",
    }
}

/// The JSON type OIDC Core §5.1 gives a standard claim, `None` for claims it does not define
/// (those may hold any value but `null`).
pub fn standard_type(claim: &str) -> Option<ClaimType> {
    Some(match claim {
        "email_verified" | "phone_number_verified" => ClaimType::Boolean,
        "address" => ClaimType::Object,
        "updated_at" => ClaimType::Number,
        "name" | "given_name" | "family_name" | "middle_name" | "nickname" | "profile"
        | "picture" | "website" | "email" | "gender" | "birthdate" | "zoneinfo" | "locale"
        | "phone_number" => ClaimType::String,
        _ => return None,
    })
}

/// The JSON type a standard claim must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimType {
    /// A JSON string (`email`, `name`, `locale`…).
    String,
    /// `true` or `false` (`email_verified`, `phone_number_verified`).
    Boolean,
    /// A JSON number (`updated_at`, seconds since the epoch).
    Number,
    /// A JSON object (`address`, Core §5.1.1).
    Object,
}

impl ClaimType {
    /// Whether `value` has this type.
    pub fn admits(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Boolean => value.is_boolean(),
            Self::Number => value.is_number(),
            Self::Object => value.is_object(),
        }
    }

    /// Why a value of another type is refused.
    pub fn reason(self) -> &'static str {
        match self {
            Self::String => "this standard claim must be a string",
            Self::Boolean => "this standard claim must be true or false",
            Self::Number => "this standard claim must be a number",
            Self::Object => "this standard claim must be a JSON object",
        }
    }
}

/// The claims of `claims` that the space-separated `scope` releases.
pub fn released(claims: &Map<String, Value>, scope: &str) -> Map<String, Value> {
    let granted = |wanted: &str| scope.split(' ').any(|scope| scope == wanted);
    claims
        .iter()
        .filter(|(name, _)| granted(scope_of(name)))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_claim_is_released_by_its_own_scope_and_unnamed_ones_by_profile() {
        let Value::Object(claims) = json!({
            "email": "carol@example.test", "email_verified": true, "name": "Carol",
            "phone_number": "+1 555 0100", "address": {"country": "NZ"}, "department": "qa",
        }) else {
            unreachable!()
        };
        let names = |scope| {
            let mut names: Vec<_> = released(&claims, scope).keys().cloned().collect();
            names.sort();
            names
        };
        assert!(names("openid").is_empty());
        assert_eq!(names("openid email"), ["email", "email_verified"]);
        assert_eq!(names("openid profile"), ["department", "name"]);
        assert_eq!(names("phone address"), ["address", "phone_number"]);
        assert_eq!(names("openid emails profiles"), Vec::<String>::new());
    }

    #[test]
    fn standard_claims_have_their_types_and_others_any() {
        assert!(standard_type("email").unwrap().admits(&json!("a@b.test")));
        assert!(!standard_type("email_verified")
            .unwrap()
            .admits(&json!("yes")));
        assert!(!standard_type("address")
            .unwrap()
            .admits(&json!("1 Main St")));
        assert!(standard_type("updated_at")
            .unwrap()
            .admits(&json!(1_700_000_000)));
        assert_eq!(standard_type("department"), None);
    }
}
