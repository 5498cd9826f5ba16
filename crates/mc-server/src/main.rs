//! `mc-server`: memcached's command line, our server.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use mc_server::cli::Cli;
use mc_server::{Server, ShutdownHandle};

/// memcached's exit status for usage errors (EX_USAGE).
const EX_USAGE: u8 = 64;
/// memcached's exit status when it cannot listen (EX_OSERR).
const EX_OSERR: u8 = 71;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.to_config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("mc-server: {message}");
            return ExitCode::from(EX_USAGE);
        }
    };
    let running_as_root = nix::unistd::geteuid().is_root();
    if running_as_root && cli.user.is_none() {
        eprintln!("can't run as root without the -u switch");
        return ExitCode::from(EX_USAGE);
    }
    let user = match &cli.user {
        Some(name) if running_as_root => match nix::unistd::User::from_name(name) {
            Ok(Some(user)) => Some(user),
            _ => {
                eprintln!("can't find the user {name} to switch to");
                return ExitCode::from(EX_USAGE);
            }
        },
        _ => None,
    };
    init_logging(config.verbosity);
    raise_fd_limit(config.max_connections);

    let server = match Server::bind(config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("mc-server: {e}");
            return ExitCode::from(EX_OSERR);
        }
    };
    for addr in server.local_addrs() {
        tracing::info!("listening on {addr}");
    }
    // Daemonize before any thread exists: fork only copies the calling thread.
    if cli.daemon {
        if let Err(e) = nix::unistd::daemon(false, cli.verbose > 0) {
            eprintln!("mc-server: failed to daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &cli.pidfile {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            eprintln!(
                "mc-server: could not write the pid file {}: {e}",
                path.display()
            );
        }
    }
    // Bound and pid file written: now give up root.
    if let Some(user) = user {
        if let Err(e) = drop_privileges(&user) {
            eprintln!(
                "mc-server: failed to assume the identity of {}: {e}",
                user.name
            );
            return ExitCode::from(EX_OSERR);
        }
    }
    let running = match server.start() {
        Ok(running) => running,
        Err(e) => {
            eprintln!("mc-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = watch_signals(running.shutdown_handle()) {
        eprintln!("mc-server: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }
    running.wait();
    tracing::info!("shut down");
    if let Some(path) = &cli.pidfile {
        remove_pid_file(path);
    }
    ExitCode::SUCCESS
}

/// Make room for `-c` connections: like memcached, raise the open-file limit to cover them
/// (up to the hard limit).
fn raise_fd_limit(max_connections: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let wanted = max_connections as u64 + 64;
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < wanted {
            let new = wanted.min(hard);
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, new, hard) {
                tracing::warn!("cannot raise the open file limit to {new}: {e}");
            } else if new < wanted {
                tracing::warn!("open file limit {new} is below -c {max_connections}");
            }
        }
    }
}

fn init_logging(verbosity: u32) {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn drop_privileges(user: &nix::unistd::User) -> nix::Result<()> {
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(user.gid)?;
    nix::unistd::setuid(user.uid)
}

/// SIGTERM and SIGINT stop the server cleanly.
fn watch_signals(handle: ShutdownHandle) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("mc-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                use tokio::signal::unix::{signal, SignalKind};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM"),
                    _ = int.recv() => tracing::info!("SIGINT"),
                }
                handle.shutdown();
            });
        })?;
    Ok(())
}

fn remove_pid_file(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!("could not remove the pid file {}: {e}", path.display());
    }
}
