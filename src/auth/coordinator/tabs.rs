//! Other tabs: adopting a token another tab obtained, signing out when another tab did, answering a
//! new tab that asks for the token, and how this tab announces its own tokens.

use super::state::{idle_window, made_for_someone_else, remaining_ms};
use super::{AuthEvent, Coordinator, Runtime, SignInState, SignOutReason, Transport};
use crate::{
    api::auth::User,
    auth::tab_sync::{IdleWindow, SharedToken, TabMessage, TabSync},
};

impl<T: Transport, R: Runtime, S: TabSync> Coordinator<T, R, S> {
    /// Feed messages from the other tabs here.
    ///
    /// A tab that is signed out (here, in another tab, or by a refused refresh) ignores
    /// [`TabMessage::TokenRefreshed`]: such a token was obtained for the session that just ended
    /// (a refresh or an answer to [`TabMessage::TokenWanted`] that crossed the
    /// [`TabMessage::SignedOut`]), and adopting it would bring the user back. Only a new login,
    /// [`TabMessage::SignedIn`], signs a signed-out tab in again.
    ///
    /// Nor does a tab take a [`TabMessage::TokenRefreshed`] for another user than its own. A
    /// refresh never changes the user, so such a token belongs to a session the shared cookie has
    /// left: a sign-in no tab heard of (the login form's post, in a page of its own) replaced
    /// it. This tab's page was rendered for the new cookie's user; it refreshes with that cookie.
    /// The open tab learns of the new user at its own next refresh (see
    /// `attempt_under_lock`).
    pub fn on_tab_message(&self, message: TabMessage) {
        match message {
            TabMessage::TokenRefreshed(SharedToken {
                access_token,
                expires_in_ms,
                user,
                idle,
            }) => {
                let for_this_tab = {
                    let state = self.inner.state.borrow();
                    state.sign_in != SignInState::SignedOut
                        && !made_for_someone_else(state.user_id().as_deref(), Some(&user.id))
                };
                if for_this_tab {
                    self.adopt_from_other_tab(access_token, expires_in_ms, user, idle);
                }
            }
            TabMessage::SignedIn(SharedToken {
                access_token,
                expires_in_ms,
                user,
                idle,
            }) => self.adopt_from_other_tab(access_token, expires_in_ms, user, idle),
            TabMessage::SignedOut => self.signed_out_elsewhere(SignOutReason::OtherTab),
            TabMessage::IdleTimedOut { timeout_secs } => {
                self.signed_out_elsewhere(SignOutReason::Idle {
                    after_secs: timeout_secs,
                });
            }
            TabMessage::TokenWanted => self.answer_token_wanted(),
        }
    }

    /// Takes another tab's token unless it is ours or ours outlives it (an old tab may answer a
    /// [`TabMessage::TokenWanted`] late).
    pub(super) fn adopt_from_other_tab(
        &self,
        access: String,
        expires_in_ms: u64,
        user: User,
        idle: Option<IdleWindow>,
    ) {
        let worth_taking = {
            let state = self.inner.state.borrow();
            let expires_at_ms = self.inner.runtime.now_ms() + expires_in_ms as f64;
            state
                .token
                .as_ref()
                .is_none_or(|ours| ours.access != access && expires_at_ms >= ours.expires_at_ms)
        };
        if !worth_taking {
            return;
        }
        let version = self.install(access, expires_in_ms, user, idle);
        self.go_online();
        self.emit(AuthEvent::TokenFromOtherTab {
            token_version: version,
        });
    }

    /// Another tab ended the session, for `reason` as this tab tells it (its own sign-out, a
    /// refusal: [`SignOutReason::OtherTab`]; the idle timeout: the same reason everywhere).
    pub(super) fn signed_out_elsewhere(&self, reason: SignOutReason) {
        if self.forget() {
            self.emit(AuthEvent::SignedOut { reason });
            self.end_session(reason);
        }
    }

    pub(super) fn answer_token_wanted(&self) {
        let answer = {
            let state = self.inner.state.borrow();
            let now = self.inner.runtime.now_ms();
            match (&state.token, &state.user) {
                (Some(token), Some(user)) if now < token.expires_at_ms => {
                    Some(Announce::Refreshed.message(
                        &token.access,
                        remaining_ms(token, now),
                        user,
                        idle_window(token, now),
                    ))
                }
                _ => None,
            }
        };
        if let Some(message) = answer {
            self.inner.tabs.publish(message);
        }
    }
}

/// How a token is announced to the other tabs: a signed-out tab adopts only a new login.
#[derive(Clone, Copy)]
pub(super) enum Announce {
    /// [`TabMessage::SignedIn`]: a login.
    SignedIn,
    /// [`TabMessage::TokenRefreshed`]: a refresh, or the answer to [`TabMessage::TokenWanted`].
    Refreshed,
}

impl Announce {
    /// The [`TabMessage`] that shares this token with the other tabs.
    pub(super) fn message(
        self,
        access: &str,
        expires_in_ms: u64,
        user: &User,
        idle: Option<IdleWindow>,
    ) -> TabMessage {
        let (access_token, user) = (access.to_owned(), user.clone());
        match self {
            Announce::SignedIn => TabMessage::SignedIn(SharedToken {
                access_token,
                expires_in_ms,
                user,
                idle,
            }),
            Announce::Refreshed => TabMessage::TokenRefreshed(SharedToken {
                access_token,
                expires_in_ms,
                user,
                idle,
            }),
        }
    }
}
