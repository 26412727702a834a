//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types' schemas (so it cannot drift from the code), served at
//! [`DOCUMENT_PATH`], and Swagger UI to read it at [`VIEWER_PATH`] — its files compiled into
//! the binary (`utoipa-swagger-ui`'s `vendored` feature): no CDN, nothing fetched at run time.

use axum::{
    http::{header, HeaderValue},
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::{
    openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi, ToSchema,
};
use utoipa_swagger_ui::SwaggerUi;

use crate::api::demo::paths as demo_paths;
use crate::server::http::{cookies::REFRESH_COOKIE, handlers, ops, state::IdpState};

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api/openapi.json";
/// Where Swagger UI reads it.
pub const VIEWER_PATH: &str = "/api/docs";

/// The OpenAPI shapes of the auth wire types (`crate::api::auth`), written before the client
/// was a feature of this crate (apps compiled `api/auth.rs` itself, without utoipa). They
/// mirror the real types field for field, under the same names, and
/// `tests/openapi.rs` fails when a field of a real one is missing here or the other way round.
/// Never built: they exist for their schemas.
#[allow(dead_code)]
pub mod schemas {
    use utoipa::ToSchema;

    /// The body of every error response: a stable `error` code and a message safe to show a
    /// person.
    #[derive(ToSchema)]
    pub struct ApiErrorBody {
        /// A stable, machine-readable code (`invalid_grant`, `invalid_token`, …).
        pub error: String,
        /// A sentence safe to show a person: never the input back, never internals.
        pub message: String,
    }

    /// `POST /api/auth/login`.
    #[derive(ToSchema)]
    pub struct LoginRequest {
        /// At most 256 characters (400 `validation_failed` beyond).
        #[schema(max_length = 256)]
        pub username: String,
        /// The password in plain text (send it over HTTPS only); never logged.
        pub password: String,
    }

    /// A signed-in user.
    #[derive(ToSchema)]
    pub struct User {
        /// Stable user id: the access token's `sub`.
        pub id: String,
        /// The name the user signs in with.
        pub username: String,
        /// Roles such as `admin`, which `GET /api/admin/stats` requires.
        pub roles: Vec<String>,
    }

    /// The answer to login and refresh. The refresh credential travels only in the HttpOnly
    /// `tf_refresh` cookie.
    #[derive(ToSchema)]
    pub struct TokenResponse {
        /// A short-lived JWT (ES256, `typ` `at+jwt`), sent as `Authorization: Bearer`.
        pub access_token: String,
        /// Always `Bearer`.
        pub token_type: String,
        /// Lifetime of `access_token` in seconds, counted from receipt.
        pub expires_in: u64,
        /// The signed-in user, so the client needs no `GET /api/me` after signing in.
        pub user: User,
        /// Seconds, counted from receipt, until the session ends for inactivity unless it is
        /// refreshed (`SESSION_IDLE_TIMEOUT_SECS` after its last refresh).
        pub idle_expires_in: u64,
        /// The idle timeout itself, in seconds.
        pub idle_timeout: u64,
    }
}

/// `{"ok": true}`, the ping twins' answer. Only a schema: `handlers::ping` sends the bytes as a
/// constant, so the pair measures authentication and not serialisation.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PongBody {
    ok: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tokenflight",
        description = "A mock identity provider with refresh-token rotation and reuse detection, \
            and the protected API of its demo. Errors are always `{\"error\", \"message\"}` with a \
            stable `error` code.",
    ),
    paths(
        handlers::auth::login,
        handlers::auth::refresh,
        handlers::auth::logout,
        handlers::resources::me,
        handlers::resources::list_items,
        handlers::resources::create_item,
        handlers::resources::notifications,
        handlers::resources::usage,
        handlers::resources::admin_stats,
        handlers::sessions::list,
        handlers::sessions::end_others,
        handlers::sessions::end_one,
        handlers::sessions::reuse_detected,
        handlers::demo::expire_access,
        handlers::demo::revoke_session,
        handlers::demo::set_faults,
        handlers::ping::public,
        handlers::ping::protected,
        ops::healthz,
        ops::readyz,
    ),
    modifiers(&SecuritySchemes),
)]
struct ApiDoc;

/// The two credentials: the access token (`Authorization: Bearer`) and the refresh credential
/// (the HttpOnly cookie the cookie endpoints read). Each protected operation's `bearer`
/// requirement names the scope an OAuth client's token needs for it (OpenAPI 3.1 §4.8.30: roles
/// for a non-OAuth scheme); the `bearer` scheme's description lists them all, as discovery's
/// `scopes_supported` does.
struct SecuritySchemes;

/// What the `bearer` scheme says of scopes.
const BEARER_SCOPES: &str = "An access token (RFC 9068). The first-party session's carries no \
    scope: its user's roles decide. An OAuth client's token opens an operation only with the \
    scope its security requirement names: `profile` (GET /api/me), `items:read`, `items:write`, \
    `sessions`, `admin` (with the admin role); otherwise 403 `insufficient_scope`.";

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(BEARER_SCOPES))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refresh_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                REFRESH_COOKIE,
                "The refresh credential, set HttpOnly by login and refresh (`__Secure-` prefixed \
                 over HTTPS)",
            ))),
        );
    }
}

/// The document for this server: the demo's fault controls only when they are mounted
/// (`DEMO_CONTROLS`).
pub fn document(demo_controls: bool) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    if !demo_controls {
        for path in [
            demo_paths::EXPIRE_ACCESS,
            demo_paths::REVOKE_SESSION,
            demo_paths::FAULTS,
        ] {
            document.paths.paths.shift_remove(path);
        }
    }
    document
}

/// [`DOCUMENT_PATH`] and the viewer under [`VIEWER_PATH`]. The viewer is no app page, so it
/// gets a CSP of its own: Swagger UI's scripts from this origin only, its inline styles, no
/// framing.
pub fn routes<S>(state: &IdpState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let viewer: Router<S> = SwaggerUi::new(VIEWER_PATH)
        .url(DOCUMENT_PATH, document(state.config.demo_controls))
        .into();
    viewer.layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    ))
}
