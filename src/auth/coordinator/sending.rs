//! Sending a request and retrying it at most once: which token to attach, whether to wait for the
//! refresh in flight, and the timeout around every transport call.

use std::future::Future;
use std::pin::pin;

use futures::future::{self, Either};

use super::answers::{classify_response, Verdict};
use super::state::{made_for_someone_else, Credentials};
use super::{
    ApiRequest, ApiResponse, AuthError, AuthEvent, Coordinator, RefreshReason, Runtime,
    SignInState, Transport, TransportError,
};
use crate::auth::tab_sync::TabSync;

/// The next step towards a token to send.
/// The final answer to a protected request, after at most one retry.
pub(super) enum Answer {
    Success(ApiResponse),
    /// A non-2xx answer, with what it means for the caller.
    Refused(ApiResponse, AuthError),
}

pub(super) enum Plan {
    Send(Credentials),
    /// Wait for the refresh in flight (it already has a reason), then take the token it brought.
    Join,
    /// Start a refresh for this reason (or join one), then take the token it brought.
    Refresh(RefreshReason),
    Reject,
}

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// The token for a first attempt: waits for a refresh in flight rather than sending a token
    /// that is being replaced, and gets one first when there is none.
    pub(super) async fn credentials_to_send(
        &self,
        request_id: u64,
    ) -> Result<Credentials, AuthError> {
        let plan = {
            let state = self.inner.state.borrow();
            let now = self.inner.runtime.now_ms();
            match (&state.refresh, &state.token, state.sign_in) {
                (Some(_), _, _) => Plan::Join,
                (None, Some(token), _) if now >= token.expires_at_ms => {
                    Plan::Refresh(RefreshReason::Expired)
                }
                (None, Some(token), _) => Plan::Send(state.credentials(token)),
                (None, None, SignInState::SignedOut) => Plan::Reject,
                (None, None, _) => Plan::Refresh(RefreshReason::Restore),
            }
        };
        self.follow(plan, request_id).await.map(|(c, _)| c)
    }

    /// The token for the retry after a 401 for `failed_version`: the current one if it was
    /// replaced meanwhile, otherwise whatever the (single) refresh brings. The flag says whether
    /// the request waited for a refresh.
    pub(super) async fn credentials_after_401(
        &self,
        request_id: u64,
        failed_version: u64,
    ) -> Result<(Credentials, bool), AuthError> {
        let plan = {
            let state = self.inner.state.borrow();
            match (&state.refresh, &state.token, state.sign_in) {
                (Some(_), _, _) => Plan::Join,
                (None, Some(token), _) if state.version != failed_version => {
                    Plan::Send(state.credentials(token))
                }
                (None, None, SignInState::SignedOut) => Plan::Reject,
                (None, _, _) => Plan::Refresh(RefreshReason::Unauthorized),
            }
        };
        self.follow(plan, request_id).await
    }

    /// Carries out a [`Plan`]; the flag says whether it waited for a refresh.
    pub(super) async fn follow(
        &self,
        plan: Plan,
        request_id: u64,
    ) -> Result<(Credentials, bool), AuthError> {
        match plan {
            Plan::Send(credentials) => return Ok((credentials, false)),
            Plan::Reject => return Err(AuthError::Unauthorized),
            // The plan is followed in the poll that made it, so the flight is still there; were
            // it over, its outcome would already be in the state, which is read below.
            Plan::Join => {
                if let Some(flight) = self.join(request_id) {
                    flight.await?;
                }
            }
            Plan::Refresh(reason) => self.start_or_join(reason, Some(request_id)).await?,
        }
        let credentials = self.current_credentials().ok_or(AuthError::Unauthorized)?;
        Ok((credentials, true))
    }

    /// Sends `request` with the current token; on a 401 for that token, waits for the single
    /// shared refresh and sends it once more. The answer is final: a second 401 included.
    pub(super) async fn send_at_most_twice(
        &self,
        request: &ApiRequest,
    ) -> Result<Answer, AuthError> {
        let request_id = self.next_request_id();
        let made_as = self.current_user_id();
        let first = self.credentials_to_send(request_id).await?;
        self.refuse_if_someone_else(request_id, made_as.as_deref(), &first)?;
        let (verdict, response) = self.send(request_id, request, &first, false).await?;
        match verdict {
            Verdict::Success => return Ok(Answer::Success(response)),
            Verdict::Fail(error) => return Ok(Answer::Refused(response, error)),
            Verdict::TokenRejected => {}
        }
        let (second, with_refresh) = self
            .credentials_after_401(request_id, first.version)
            .await?;
        self.refuse_if_someone_else(request_id, first.user_id.as_deref(), &second)?;
        self.emit(AuthEvent::Retried {
            request_id,
            with_refresh,
        });
        let (verdict, response) = self.send(request_id, request, &second, true).await?;
        Ok(match verdict {
            Verdict::Success => Answer::Success(response),
            Verdict::Fail(error) => Answer::Refused(response, error),
            Verdict::TokenRejected => Answer::Refused(response, AuthError::Unauthorized),
        })
    }

    /// A request is sent, and retried, only as the user it was made as. When a sign-in as
    /// someone else replaced the token while it waited, it ends here, with an event that closes
    /// it in timelines.
    fn refuse_if_someone_else(
        &self,
        request_id: u64,
        made_as: Option<&str>,
        credentials: &Credentials,
    ) -> Result<(), AuthError> {
        if !made_for_someone_else(made_as, credentials.user_id.as_deref()) {
            return Ok(());
        }
        self.emit(AuthEvent::RequestFailed {
            request_id,
            error: "signed in as someone else meanwhile".to_owned(),
        });
        Err(AuthError::SessionExpired)
    }

    /// One transport call, with a timeout and events, classified.
    async fn send(
        &self,
        request_id: u64,
        request: &ApiRequest,
        credentials: &Credentials,
        retry: bool,
    ) -> Result<(Verdict, ApiResponse), AuthError> {
        self.emit(AuthEvent::RequestSent {
            request_id,
            path: request.path.clone(),
            token_version: credentials.version,
            retry,
        });
        let call = self
            .inner
            .transport
            .send(request, Some(credentials.token.as_str()));
        let outcome = self
            .with_timeout(call, self.inner.config.request_timeout_ms)
            .await;
        match outcome {
            Ok(response) => {
                self.emit(AuthEvent::Responded {
                    request_id,
                    status: response.status,
                });
                let verdict = classify_response(&response);
                if matches!(verdict, Verdict::TokenRejected) {
                    self.emit(AuthEvent::Unauthorized {
                        request_id,
                        token_version: credentials.version,
                    });
                }
                Ok((verdict, response))
            }
            Err(error) => {
                self.emit(AuthEvent::RequestFailed {
                    request_id,
                    error: error.to_string(),
                });
                Err(AuthError::Transient(error.to_string()))
            }
        }
    }

    pub(super) async fn with_timeout(
        &self,
        call: impl Future<Output = Result<ApiResponse, TransportError>>,
        timeout_ms: u64,
    ) -> Result<ApiResponse, TransportError> {
        let timer = self.inner.runtime.sleep(timeout_ms);
        match future::select(pin!(call), pin!(timer)).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(((), _)) => Err(TransportError::Timeout),
        }
    }
}
