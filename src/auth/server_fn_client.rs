//! Leptos server functions through the same coordinator as every REST call: declare one with
//! `#[server(client = AuthClient)]` and its calls carry the in-memory access token, join the one
//! refresh on `401 invalid_token`, are retried at most once and never loop.
//!
//! A browser `Request` cannot be sent twice, so [`ReplayableRequest`] keeps what server_fn hands
//! over (method, path, content type, body) as data and the coordinator builds the call anew for
//! the retry. Error answers come back as responses, so each server function decodes its own error
//! type; with [`ApiErrorBody`] that is the API's `{"error", "message"}` envelope.

use std::future::Future;

use futures::{Sink, Stream};
use http::Method as HttpMethod;
use leptos::server_fn::{
    client::{get_server_url, Client},
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
    request::ClientReq,
    response::ClientRes,
    Bytes,
};

use super::coordinator::{ApiRequest, ApiResponse, AuthError, Body, Method};
use crate::api::auth::{codes, ApiErrorBody};

/// The server-function client that goes through the auth coordinator (in the browser). Calls
/// made during the server render never reach a client: they run in-process.
///
/// The server function's error type receives what the coordinator could not get an answer for
/// (`From<AuthError>`); [`ApiErrorBody`] does, keeping the API's error codes:
///
/// ```no_run
/// use leptos::prelude::*;
/// use tokenflight::{api::auth::ApiErrorBody, auth::AuthClient};
///
/// #[server(prefix = "/api/fn", endpoint = "orders", client = AuthClient)]
/// pub async fn load_orders() -> Result<Vec<String>, ApiErrorBody> {
///     // On the server: check the caller's Bearer token first, as any protected endpoint does.
///     Ok(vec!["first order".to_owned()])
/// }
/// ```
pub struct AuthClient;

/// A server function call, kept as data so it can be sent again after a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayableRequest(pub ApiRequest);

/// The final answer to a server function call, whatever its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayedResponse(pub ApiResponse);

impl<E, InputStreamError, OutputStreamError> Client<E, InputStreamError, OutputStreamError>
    for AuthClient
where
    E: FromServerFnError + From<AuthError> + Send,
    InputStreamError: FromServerFnError,
    OutputStreamError: FromServerFnError,
{
    type Request = ReplayableRequest;
    type Response = ReplayedResponse;

    fn send(request: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        send_through_coordinator(request.0)
    }

    #[allow(clippy::type_complexity)]
    async fn open_websocket(
        _path: &str,
    ) -> Result<
        (
            impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
            impl Sink<Bytes> + Send + 'static,
        ),
        E,
    > {
        Err::<
            (
                futures::stream::Empty<Result<Bytes, Bytes>>,
                futures::sink::Drain<Bytes>,
            ),
            E,
        >(unsupported("websocket server functions"))
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        #[cfg(feature = "hydrate")]
        wasm_bindgen_futures::spawn_local(future);
        #[cfg(not(feature = "hydrate"))]
        drop(future); // No client runs on the server: server functions run in-process there.
    }
}

/// The browser: the coordinator provided by `provide_auth` sends it, with single flight and retry.
#[cfg(feature = "hydrate")]
fn send_through_coordinator<E: From<AuthError>>(
    request: ApiRequest,
) -> impl Future<Output = Result<ReplayedResponse, E>> + Send {
    send_wrapper::SendWrapper::new(async move {
        let coordinator = super::browser::active_coordinator().ok_or_else(|| {
            E::from(AuthError::Transient(
                "provide_auth has not run: no auth context in this page".into(),
            ))
        })?;
        coordinator
            .execute_raw(request)
            .await
            .map(ReplayedResponse)
            .map_err(E::from)
    })
}

/// The server: a server function called during the render runs in-process and never gets here.
#[cfg(not(feature = "hydrate"))]
fn send_through_coordinator<E: From<AuthError>>(
    request: ApiRequest,
) -> impl Future<Output = Result<ReplayedResponse, E>> + Send {
    let _ = request;
    async {
        Err(E::from(AuthError::Transient(
            "server functions are called through the auth client in the browser only".into(),
        )))
    }
}

/// A body or protocol this client cannot send: the app's mistake, found before anything is sent,
/// and reported as such (`internal_error`), never as an outage (`temporarily_unavailable`,
/// which a card would show as "offline" and a person would wait out).
fn unsupported<E: FromServerFnError>(what: &str) -> E {
    E::from_server_fn_error(ServerFnErrorErr::Serialization(format!(
        "{what} do not go through the auth client"
    )))
}

fn method(method: HttpMethod) -> Option<Method> {
    Some(match method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        HttpMethod::PUT => Method::Put,
        HttpMethod::PATCH => Method::Patch,
        HttpMethod::DELETE => Method::Delete,
        _ => return None,
    })
}

impl ReplayableRequest {
    fn new<E: FromServerFnError>(
        path: &str,
        accepts: &str,
        http_method: HttpMethod,
        body: Option<Body>,
    ) -> Result<Self, E> {
        let method = method(http_method.clone()).ok_or_else(|| {
            E::from_server_fn_error(ServerFnErrorErr::UnsupportedRequestMethod(
                http_method.to_string(),
            ))
        })?;
        Ok(Self(ApiRequest {
            method,
            path: format!("{}{path}", get_server_url()),
            body,
            accept: Some(accepts.to_owned()),
        }))
    }
}

/// Text encodings (the defaults: URL-encoded arguments, JSON results) are replayable; streams,
/// multipart forms and binary bodies are refused with a clear error rather than sent once.
impl<E: FromServerFnError> ClientReq<E> for ReplayableRequest {
    type FormData = ();

    fn try_new_req_query(
        path: &str,
        _content_type: &str,
        accepts: &str,
        query: &str,
        method: HttpMethod,
    ) -> Result<Self, E> {
        Self::new(&format!("{path}?{query}"), accepts, method, None)
    }

    fn try_new_req_text(
        path: &str,
        content_type: &str,
        accepts: &str,
        body: String,
        method: HttpMethod,
    ) -> Result<Self, E> {
        let body = Body {
            content_type: content_type.to_owned(),
            text: body,
        };
        Self::new(path, accepts, method, Some(body))
    }

    fn try_new_req_bytes(
        _path: &str,
        _content_type: &str,
        _accepts: &str,
        _body: Bytes,
        _method: HttpMethod,
    ) -> Result<Self, E> {
        Err(unsupported("binary request bodies"))
    }

    fn try_new_req_form_data(
        _path: &str,
        _accepts: &str,
        _content_type: &str,
        _body: Self::FormData,
        _method: HttpMethod,
    ) -> Result<Self, E> {
        Err(unsupported("form-data bodies"))
    }

    fn try_new_req_multipart(
        _path: &str,
        _accepts: &str,
        _body: Self::FormData,
        _method: HttpMethod,
    ) -> Result<Self, E> {
        Err(unsupported("multipart bodies"))
    }

    fn try_new_req_streaming(
        _path: &str,
        _accepts: &str,
        _content_type: &str,
        _body: impl Stream<Item = Bytes> + Send + 'static,
        _method: HttpMethod,
    ) -> Result<Self, E> {
        Err(unsupported("streaming bodies"))
    }
}

impl<E: FromServerFnError> ClientRes<E> for ReplayedResponse {
    async fn try_into_string(self) -> Result<String, E> {
        Ok(self.0.body)
    }

    async fn try_into_bytes(self) -> Result<Bytes, E> {
        Ok(Bytes::from(self.0.body))
    }

    fn try_into_stream(
        self,
    ) -> Result<impl Stream<Item = Result<Bytes, Bytes>> + Send + Sync + 'static, E> {
        Err::<futures::stream::Empty<Result<Bytes, Bytes>>, E>(unsupported("streaming responses"))
    }

    fn status(&self) -> u16 {
        self.0.status
    }

    fn status_text(&self) -> String {
        String::new()
    }

    fn location(&self) -> String {
        self.0.location.clone().unwrap_or_default()
    }

    fn has_redirect(&self) -> bool {
        self.0.redirect
    }
}

/// The API's error envelope as a server function error: encoded as JSON, so server functions and
/// REST endpoints fail with the same `{"error", "message"}` shape.
impl FromServerFnError for ApiErrorBody {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        let code = match &error {
            ServerFnErrorErr::Request(_) => codes::TEMPORARILY_UNAVAILABLE,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => codes::VALIDATION_FAILED,
            ServerFnErrorErr::UnsupportedRequestMethod(_) => codes::METHOD_NOT_ALLOWED,
            _ => codes::INTERNAL,
        };
        Self {
            error: code.to_owned(),
            message: error.to_string(),
        }
    }
}

/// What the coordinator says when there is no answer to decode, in the same envelope.
impl From<AuthError> for ApiErrorBody {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::Unauthorized => codes::UNAUTHENTICATED.to_owned(),
            AuthError::Forbidden => codes::INSUFFICIENT_SCOPE.to_owned(),
            AuthError::SessionExpired => codes::INVALID_GRANT.to_owned(),
            AuthError::Transient(_) => codes::TEMPORARILY_UNAVAILABLE.to_owned(),
            AuthError::Http { code, .. } => code.clone().unwrap_or(codes::INTERNAL.to_owned()),
            AuthError::Decode(_) | AuthError::Encode(_) => codes::INTERNAL.to_owned(),
        };
        Self {
            error: code,
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(built: Result<ReplayableRequest, ApiErrorBody>) -> ApiRequest {
        built.expect("a replayable request").0
    }

    #[test]
    fn a_post_keeps_its_encoded_body_and_accept_header_for_the_retry() {
        let built = request(
            <ReplayableRequest as ClientReq<ApiErrorBody>>::try_new_req_text(
                "/api/fn/items",
                "application/x-www-form-urlencoded",
                "application/json",
                "page=2".to_owned(),
                HttpMethod::POST,
            ),
        );
        assert_eq!(built.method, Method::Post);
        assert_eq!(built.path, "/api/fn/items");
        assert_eq!(built.accept.as_deref(), Some("application/json"));
        let body = built.body.expect("a body");
        assert_eq!(body.content_type, "application/x-www-form-urlencoded");
        assert_eq!(body.text, "page=2");
    }

    #[test]
    fn a_get_carries_its_arguments_in_the_query() {
        let built = request(
            <ReplayableRequest as ClientReq<ApiErrorBody>>::try_new_req_query(
                "/api/fn/usage",
                "",
                "application/json",
                "day=today",
                HttpMethod::GET,
            ),
        );
        assert_eq!(
            (built.method, built.path.as_str()),
            (Method::Get, "/api/fn/usage?day=today")
        );
        assert!(built.body.is_none());
    }

    #[test]
    fn bodies_that_cannot_be_replayed_are_refused_as_a_programmer_error_not_an_outage() {
        let refused = <ReplayableRequest as ClientReq<ApiErrorBody>>::try_new_req_bytes(
            "/api/fn/upload",
            "application/cbor",
            "application/cbor",
            Bytes::from_static(b"\x01"),
            HttpMethod::POST,
        )
        .unwrap_err();
        assert_eq!(refused.error, codes::INTERNAL);
        assert!(
            refused.message.contains("binary request bodies"),
            "{}",
            refused.message
        );
        let connect = <ReplayableRequest as ClientReq<ApiErrorBody>>::try_new_req_query(
            "/x",
            "",
            "",
            "",
            HttpMethod::CONNECT,
        );
        assert_eq!(connect.unwrap_err().error, codes::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn an_error_answer_is_handed_back_for_the_server_function_to_decode() {
        let answer = ReplayedResponse(ApiResponse {
            status: 403,
            body: r#"{"error":"insufficient_scope","message":"admins only"}"#.into(),
            ..ApiResponse::default()
        });
        assert_eq!(ClientRes::<ApiErrorBody>::status(&answer), 403);
        let bytes = futures::executor::block_on(ClientRes::<ApiErrorBody>::try_into_bytes(answer))
            .expect("the body");
        let decoded = ApiErrorBody::de(bytes);
        assert_eq!(decoded.error, codes::INSUFFICIENT_SCOPE);
    }

    #[test]
    fn coordinator_failures_keep_the_api_error_codes() {
        let code = |error| ApiErrorBody::from(error).error;
        assert_eq!(code(AuthError::Unauthorized), codes::UNAUTHENTICATED);
        assert_eq!(code(AuthError::Forbidden), codes::INSUFFICIENT_SCOPE);
        assert_eq!(code(AuthError::SessionExpired), codes::INVALID_GRANT);
        assert_eq!(
            code(AuthError::Transient("down".into())),
            codes::TEMPORARILY_UNAVAILABLE
        );
    }
}
