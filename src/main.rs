//! `session-demo`: the session demo web app on port 9999.
//!
//! `cargo run --release` starts it with an embedded memcached-compatible server;
//! `--memcached host:port,...` uses real servers instead.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use mc_session::{Key, SessionConfig, SessionStore};

#[derive(Debug, Parser)]
#[command(name = "session-demo", about = "The session demo web app")]
struct Args {
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:9999")]
    listen: SocketAddr,
    /// memcached servers (comma separated host:port); when absent an embedded mc-server is
    /// started on an ephemeral loopback port.
    #[arg(long, value_delimiter = ',')]
    memcached: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();

    let embedded = if args.memcached.is_empty() {
        match mc_server::RunningServer::start(mc_server::Config::ephemeral()) {
            Ok(server) => {
                if let Some(addr) = server.local_addr() {
                    tracing::info!("no --memcached given: started an embedded mc-server on {addr}");
                }
                Some(server)
            }
            Err(e) => {
                eprintln!("session-demo: cannot start the embedded server: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let servers: Vec<String> = match &embedded {
        Some(server) => server.local_addrs().iter().map(|a| a.to_string()).collect(),
        None => args.memcached.clone(),
    };

    let key = match std::env::var("SESSION_SECRET") {
        Ok(secret) => match SessionConfig::key_from_secret(secret.as_bytes()) {
            Some(key) => key,
            None => {
                eprintln!("session-demo: SESSION_SECRET must be at least 32 bytes");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => {
            tracing::warn!("SESSION_SECRET is not set: using a random signing key, so sessions end when the demo restarts");
            Key::generate()
        }
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("session-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let client = mc_client::Client::new(servers.iter().map(String::as_str));
        let store = SessionStore::new(client, SessionConfig::new(key));
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        tracing::info!("session demo on http://{}", listener.local_addr()?);
        axum::serve(listener, session_demo::app(store))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("shutting down");
            })
            .await
    });
    drop(embedded);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("session-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
