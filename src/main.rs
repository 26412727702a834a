//! The `tokenflight` server binary: configuration, state, router, serve.

/// jemalloc, not glibc's malloc: a store answer is allocated on one thread (redis-rs' connection
/// task, SQLite's writer) and freed on another (the request's task), and glibc takes the owning
/// arena's lock for every such free. Measured under `loadgen refresh` (docs/store-measurements.md):
/// a quarter of a Redis refresh's CPU went to malloc, free and their lock wake-ups; with jemalloc
/// the server spends ~57 µs of CPU per Redis refresh instead of ~80. The library sets no
/// allocator (feature `jemalloc` only brings it in for this binary): an app that mounts
/// Tokenflight's routes chooses its own.
#[cfg(all(feature = "ssr", feature = "jemalloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A worker per core, and never fewer than two: on a single worker a page render waiting on a
/// `Resource` can stall for good (leptos-rs/leptos#4647), and one-vCPU hosts are common.
#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    let workers = std::thread::available_parallelism().map_or(2, |cores| cores.get().max(2));
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve()),
        Err(error) => {
            eprintln!("tokenflight: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "ssr")]
async fn serve() -> std::process::ExitCode {
    use std::process::ExitCode;

    use leptos::config::get_configuration;
    use tokenflight::server::{
        config::{Config, LogFormat},
        http::{listener, ops::serve_metrics},
        router, IdentityProvider,
    };
    use tracing_subscriber::EnvFilter;

    let format = match LogFormat::from_env() {
        Ok(format) => format,
        Err(error) => {
            eprintln!("tokenflight: {error}");
            return ExitCode::FAILURE;
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    let config = match Config::demo_from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tokenflight: {error}");
            return ExitCode::FAILURE;
        }
    };
    let leptos_options = match get_configuration(None) {
        Ok(configuration) => configuration.leptos_options,
        Err(error) => {
            eprintln!("tokenflight: invalid LEPTOS_* configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = leptos_options.site_addr;
    if let Some(metrics_addr) = config.metrics_addr {
        if let Err(error) = serve_metrics(metrics_addr).await {
            eprintln!("tokenflight: {error}");
            return ExitCode::FAILURE;
        }
    }
    let store_url = format!("{:?}", config.store_url);
    let idp = match IdentityProvider::start(config).await {
        Ok(idp) => idp,
        Err(error) => {
            eprintln!("tokenflight: cannot open the store {store_url}: {error}. Check STORE_URL.");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(store = %store_url, "store open");

    let shutdown = shutdown_signal();
    let tcp = match listener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "tokenflight: cannot listen on {addr}: {error}. \
                 Is another server running there? Set LEPTOS_SITE_ADDR to another address."
            );
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("listening on http://{addr}");
    idp.serve(tcp, router(idp.state(), leptos_options), shutdown)
        .await;
    tracing::info!("shut down cleanly");
    ExitCode::SUCCESS
}

/// Listens for Ctrl-C and SIGTERM from the moment it is called and resolves on the first, so
/// in-flight requests finish before the process exits. Called before the port is bound: a
/// signal that came between the bind and the first poll would otherwise meet the default
/// action and end the process uncleanly (a test that stops the server as soon as it listens
/// saw exactly that).
#[cfg(feature = "ssr")]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        tokio::select! {
            () = received(&mut interrupt) => {},
            () = received(&mut terminate) => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received; finishing in-flight requests");
    }
}

/// The next delivery of `signal`; never, when its handler could not be installed.
#[cfg(all(feature = "ssr", unix))]
async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// The browser build has no binary; cargo-leptos builds the library for it.
#[cfg(not(feature = "ssr"))]
fn main() {}
