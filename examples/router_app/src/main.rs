//! The server: Tokenflight's identity provider and protected API nested in this app's router,
//! beside its pages, with this app's own state — and served within the identity provider's
//! connection limits.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use axum::{extract::FromRef, Router};
    use leptos::{config::get_configuration, prelude::LeptosOptions};
    use leptos_axum::{generate_route_list, LeptosRoutes};
    use router_app::app::{shell, App};
    use tokenflight::server::{config::Config, IdentityProvider, IdpState};

    /// This app's state: what its pages render with, and the identity provider's.
    #[derive(Clone, FromRef)]
    struct AppState {
        leptos_options: LeptosOptions,
        idp: IdpState,
    }

    let options = get_configuration(None)?.leptos_options;
    let addr = options.site_addr;
    let idp = IdentityProvider::start(Config::from_env()?).await?;
    let state = AppState {
        leptos_options: options.clone(),
        idp: idp.state(),
    };
    let app = Router::new()
        .leptos_routes(&state, generate_route_list(App), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .merge(idp.routes())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("router_app listening on http://{addr}");
    idp.serve(listener, idp.layer(app), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

#[cfg(not(feature = "ssr"))]
fn main() {}
