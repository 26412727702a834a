//! Shared by the soak and the storm benchmark: a signed-in native client of the real server,
//! and counts taken from its event stream.

use std::{cell::Cell, rc::Rc, sync::Arc};

use reqwest::cookie::Jar;
use tokenflight::{
    api::auth::LoginRequest,
    auth::{
        coordinator::{
            classify_login, AuthEvent, Coordinator, CoordinatorConfig, RefreshFailureKind,
        },
        tab_sync::TabSync,
        AuthEndpoints,
    },
    native::{ReqwestTransport, TokioRuntime},
};

pub type Client<S> = Coordinator<ReqwestTransport, TokioRuntime, S>;

/// What a client's event stream says happened.
#[derive(Clone, Default)]
pub struct Counts {
    /// Refresh calls that went over the network.
    pub refresh_calls: Rc<Cell<u64>>,
    pub sign_outs: Rc<Cell<u64>>,
}

impl Counts {
    pub fn follow<S: TabSync>(client: &Client<S>) -> Self {
        let counts = Self::default();
        let seen = counts.clone();
        client.subscribe(move |event| match event {
            AuthEvent::RefreshSucceeded { adopted: false, .. } => bump(&seen.refresh_calls),
            AuthEvent::RefreshFailed { kind, .. } if *kind != RefreshFailureKind::NoSession => {
                bump(&seen.refresh_calls)
            }
            AuthEvent::SignedOut { .. } => bump(&seen.sign_outs),
            _ => {}
        });
        counts
    }
}

fn bump(cell: &Cell<u64>) {
    cell.set(cell.get() + 1);
}

/// A coordinator for `base_url` with its own transport over `jar`.
pub fn client<S: TabSync>(base_url: &str, jar: Arc<Jar>, tabs: S) -> (Client<S>, ReqwestTransport) {
    let transport =
        ReqwestTransport::new(base_url, AuthEndpoints::default(), jar).expect("an HTTP client");
    let client = Coordinator::new(
        transport.clone(),
        TokioRuntime::default(),
        tabs,
        CoordinatorConfig::default(),
    );
    (client, transport)
}

/// Signs `client` in as alice, through the coordinator like the browser does.
pub async fn sign_in<S: TabSync>(client: &Client<S>, transport: &ReqwestTransport) {
    let transport = transport.clone();
    let request = LoginRequest {
        username: "alice".into(),
        password: "wonderland".into(),
    };
    client
        .sign_in_with(async move { classify_login(transport.login(&request).await) })
        .await
        .unwrap_or_else(|error| panic!("sign-in failed: {error:?}"));
}
