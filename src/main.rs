//! `session-demo`: the session demo web app on port 9999.
//!
//! `cargo run --release` starts it with an embedded memcached-compatible server;
//! `--memcached host:port,...` uses real servers instead.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use mc_session::{Key, SessionConfig, SessionStore};
use session_demo::AppOptions;

/// Exit status for a configuration the demo refuses (a bad secret, a bad flag).
const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "session-demo", about = "The session demo web app")]
struct Args {
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:9999")]
    listen: SocketAddr,
    /// memcached servers (comma separated host:port); when absent an embedded mc-server is
    /// started on an ephemeral loopback port, and sessions last only while the demo runs.
    #[arg(long, value_delimiter = ',')]
    memcached: Vec<String>,
    /// Serve cookies with `Secure` and the `__Host-` prefix: for a demo behind HTTPS.
    #[arg(long, env = "SESSION_SECURE_COOKIE")]
    secure_cookie: bool,
    /// How long an unreachable memcached server is left alone before it is tried again, in
    /// milliseconds. Short, so that a restart of memcached is a blip, not an outage.
    #[arg(long, default_value_t = session_demo::DEFAULT_DEAD_RETRY.as_millis() as u64, value_name = "MS")]
    dead_retry_ms: u64,
    /// How long to wait for memcached to connect or answer, in milliseconds.
    #[arg(long, default_value_t = session_demo::DEFAULT_TIMEOUT.as_millis() as u64, value_name = "MS")]
    timeout_ms: u64,
    /// With the embedded server: save its sessions to PATH when the demo stops (SIGTERM,
    /// Ctrl-C) and restore them at the next start with the same PATH (mc-server's `-e`; a
    /// file on tmpfs such as /dev/shm is fastest). Sessions come back readable only with the
    /// same SESSION_SECRET.
    #[arg(long, value_name = "PATH")]
    state_file: Option<std::path::PathBuf>,
}

/// The signing key from `SESSION_SECRET`, or a random one (with a warning) when it is unset.
fn signing_key() -> Result<Key, String> {
    let Some(secret) = std::env::var_os("SESSION_SECRET") else {
        tracing::warn!(
            "SESSION_SECRET is not set: using a random signing key, so sessions end when the demo restarts"
        );
        return Ok(Key::generate());
    };
    let secret = secret.into_string().map_err(|_| {
        "SESSION_SECRET is not valid UTF-8: use a printable secret of at least 32 bytes".to_string()
    })?;
    SessionConfig::key_from_secret(secret.as_bytes()).ok_or_else(|| {
        format!(
            "SESSION_SECRET is {} bytes long: it must be at least 32 (e.g. `openssl rand -hex 32`)",
            secret.len()
        )
    })
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_requested() {
    use tokio::signal::unix::{signal, SignalKind};
    let terminate = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot watch SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C"),
        () = terminate => tracing::info!("SIGTERM"),
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Logs go to stderr, coloured only when it is a terminal.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let key = match signing_key() {
        Ok(key) => key,
        Err(message) => {
            eprintln!("session-demo: {message}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut config = SessionConfig::new(key);
    if args.secure_cookie {
        config = config.secure();
    }

    if args.state_file.is_some() && !args.memcached.is_empty() {
        eprintln!(
            "session-demo: --state-file keeps the embedded server's sessions; with --memcached the sessions live in memcached (start it with -e for the same)"
        );
        return ExitCode::from(EXIT_CONFIG);
    }
    let embedded = if args.memcached.is_empty() {
        let mut server_config = mc_server::Config::ephemeral();
        server_config.tuning.memory_file = args.state_file.clone();
        match mc_server::RunningServer::start(server_config) {
            Ok(server) => {
                if let Some(addr) = server.local_addr() {
                    match &args.state_file {
                        Some(path) => tracing::info!(
                            "no --memcached given: started an embedded mc-server on {addr}; sessions are saved to {} when the demo stops and restored when it starts",
                            path.display()
                        ),
                        None => tracing::info!(
                            "no --memcached given: started an embedded mc-server on {addr}; sessions last only while the demo runs (--state-file PATH keeps them across restarts)"
                        ),
                    }
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
    let options = AppOptions {
        embedded_server: embedded.is_some(),
        sessions_saved: embedded.is_some() && args.state_file.is_some(),
    };

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("session-demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let client_options = session_demo::client_options(
            Duration::from_millis(args.timeout_ms),
            Duration::from_millis(args.dead_retry_ms),
        );
        let client =
            mc_client::Client::with_options(servers.iter().map(String::as_str), client_options);
        let store = SessionStore::new(client, config);
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        tracing::info!("session demo on http://{}", listener.local_addr()?);
        axum::serve(listener, session_demo::app(store, options))
            .with_graceful_shutdown(shutdown_requested())
            .await
    });
    // The sessions are saved once no request can change them any more.
    match embedded {
        Some(server) if args.state_file.is_some() => server.shutdown_graceful(),
        Some(server) => server.shutdown(),
        None => {}
    }
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("session-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
