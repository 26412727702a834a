//! The server: Tokenflight's identity provider and protected API (a library call), this app's
//! pages beside them, and Tokenflight's layers around both.

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::net::SocketAddr;

    use leptos::config::get_configuration;
    use leptos_axum::{generate_route_list, LeptosRoutes};
    use router_app::app::{shell, App};
    use tokenflight::server::{api_routes, spawn_housekeeping, with_server_layers, AppState, config::Config};

    let options = get_configuration(None)?.leptos_options;
    let addr = options.site_addr;
    let state = AppState::new(options.clone(), Config::from_env()?).await?;
    spawn_housekeeping(state.clone());
    let pages = api_routes(&state)
        .leptos_routes(&state, generate_route_list(App), {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell));
    let app = with_server_layers(pages, state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("router_app listening on http://{addr}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

#[cfg(not(feature = "ssr"))]
fn main() {}
