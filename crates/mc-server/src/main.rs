//! `mc-server`: memcached's command line, our server.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use mc_server::cli::Cli;
use mc_server::pid_file::PidFile;
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
    if let Some(path) = std::env::var_os("MEMCACHED_PORT_FILENAME") {
        write_port_file(Path::new(&path), &server.local_addrs());
    }
    // Daemonize before any thread exists: fork only copies the calling thread.
    if cli.daemon {
        if let Err(e) = nix::unistd::daemon(false, cli.verbose > 0) {
            eprintln!("mc-server: failed to daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Written before giving up root (so any directory root can write to works), owned by
    // the user we become (so we can still remove it when we exit).
    let pid_file = cli.pidfile.as_deref().and_then(|path| {
        let owner = user.as_ref().map(|u| (u.uid, u.gid));
        PidFile::write(path, owner)
            .map_err(|e| {
                eprintln!(
                    "mc-server: could not write the pid file {}: {e}",
                    path.display()
                )
            })
            .ok()
    });
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
    if let Some(pid_file) = pid_file {
        let path = pid_file.path().to_path_buf();
        if let Err(e) = pid_file.remove() {
            tracing::warn!("could not remove the pid file {}: {e}", path.display());
        }
    }
    ExitCode::SUCCESS
}

/// memcached's `MEMCACHED_PORT_FILENAME`: after binding, write `TCP INET: <port>` (or `INET6`)
/// per listening socket, through a `.lck` file renamed into place, so a harness that asked for
/// an ephemeral port (`-p 0`) learns which one it got.
fn write_port_file(path: &Path, addrs: &[std::net::SocketAddr]) {
    let mut text = String::new();
    for addr in addrs {
        let family = if addr.is_ipv6() { "INET6" } else { "INET" };
        text.push_str(&format!("TCP {family}: {}\n", addr.port()));
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".lck");
    let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(e) = written {
        eprintln!(
            "mc-server: could not write the port file {}: {e}",
            path.display()
        );
    }
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
