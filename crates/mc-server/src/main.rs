//! `mc-server`: memcached's command line, our server.

use std::path::Path;
use std::process::ExitCode;

use mc_server::cli::{self, Command, Launch};
use mc_server::pid_file::PidFile;
use mc_server::{Server, ShutdownHandle};

/// memcached's exit status for usage errors (EX_USAGE).
const EX_USAGE: u8 = 64;
/// memcached's exit status when it cannot listen or set a limit (EX_OSERR).
const EX_OSERR: u8 = 71;

fn main() -> ExitCode {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_else(|| "mc-server".into());
    let args: Vec<String> = args.collect();
    let launch = match cli::parse(&program, &args) {
        Ok(Command::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run(launch)) => launch,
        Err(error) => {
            eprintln!("{}", error.message);
            return ExitCode::from(error.code);
        }
    };
    run(*launch)
}

fn run(launch: Launch) -> ExitCode {
    let Launch {
        config,
        daemon,
        user,
        pidfile,
        lock_memory,
        enable_coredumps,
        ignored,
    } = launch;
    init_logging(config.verbosity);
    for why in &ignored {
        tracing::warn!("{why}");
    }
    if enable_coredumps {
        raise_core_limit();
    }
    let running_as_root = nix::unistd::geteuid().is_root();
    if running_as_root && user.is_none() {
        eprintln!("can't run as root without the -u switch");
        return ExitCode::from(EX_USAGE);
    }
    let user = match &user {
        Some(name) if running_as_root => match nix::unistd::User::from_name(name) {
            Ok(Some(user)) => Some(user),
            _ => {
                eprintln!("can't find the user {name} to switch to");
                return ExitCode::from(EX_USAGE);
            }
        },
        _ => None,
    };
    if let Err(message) = raise_fd_limit(config.max_connections) {
        eprintln!("{message}");
        return ExitCode::from(EX_OSERR);
    }
    let verbose = config.verbosity > 0;
    let max_bytes = config.store.max_bytes as u64;
    // From the moment the port listens a stop signal must not kill us outright: held back
    // (pending) until the handlers are in place, then delivered to them.
    let stop_signals = stop_signals();
    if let Err(e) = stop_signals.thread_block() {
        eprintln!("mc-server: cannot hold back signals while starting: {e}");
        return ExitCode::FAILURE;
    }
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
        write_port_file(Path::new(&path), &server.port_lines());
    }
    // Daemonize before any thread exists: fork only copies the calling thread.
    if daemon {
        if let Err(e) = nix::unistd::daemon(false, verbose) {
            eprintln!("mc-server: failed to daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    // Signals are caught from here on (after the fork, which copies only this thread), so a
    // SIGTERM while starting still stops cleanly and removes the pid file.
    let signals = match catch_signals() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("mc-server: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Threads started from here on take signals again; one that came meanwhile is delivered.
    if let Err(e) = stop_signals.thread_unblock() {
        eprintln!("mc-server: cannot take signals again: {e}");
        return ExitCode::FAILURE;
    }
    if lock_memory {
        lock_all_memory(max_bytes);
    }
    // Written before giving up root (so any directory root can write to works), owned by
    // the user we become (so we can still remove it when we exit).
    let pid_file = pidfile.as_deref().and_then(|path| {
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
    // A signal caught while starting is acted on now.
    let _ = signals.send(running.shutdown_handle());
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

/// memcached's `MEMCACHED_PORT_FILENAME`: after binding, write one line per listening socket
/// (`TCP INET: <port>`, `UDP INET6: <port>`...), through a `.lck` file renamed into place, so
/// a harness that asked for an ephemeral port (`-p -1`) learns which one it got.
fn write_port_file(path: &Path, lines: &[String]) {
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
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

/// Make room for `-c` connections: like memcached, raise the open-file limit to cover them,
/// and refuse to start when that is not allowed.
fn raise_fd_limit(max_connections: usize) -> Result<(), &'static str> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let wanted = max_connections as u64 + 64;
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return Err("failed to getrlimit number of files");
    };
    if soft >= wanted {
        return Ok(());
    }
    let hard = hard.max(wanted);
    if setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_err()
        && setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted.max(soft)).is_err()
    {
        return Err("failed to set rlimit for open files. Try starting as root or requesting smaller maxconns value.");
    }
    Ok(())
}

/// `-k`: keep every page in RAM. Locking future allocations too means any allocation past
/// the locked-memory limit fails, and an allocation failure aborts the process; so the limit
/// is raised as far as allowed first, and when it still cannot cover the cache (-m) and some
/// room beyond it, memory stays unlocked with a warning, as memcached warns when its
/// mlockall fails.
fn lock_all_memory(max_bytes: u64) {
    use nix::sys::mman::{mlockall, MlockAllFlags};
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    let needed = max_bytes.saturating_add(256 << 20);
    if setrlimit(Resource::RLIMIT_MEMLOCK, RLIM_INFINITY, RLIM_INFINITY).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_MEMLOCK) {
            let _ = setrlimit(Resource::RLIMIT_MEMLOCK, hard, hard);
        }
    }
    let limit = getrlimit(Resource::RLIMIT_MEMLOCK).map_or(0, |(soft, _)| soft);
    if limit != RLIM_INFINITY && limit < needed {
        eprintln!(
            "warning: -k invalid, the locked memory limit ({limit} bytes) is below what -m needs ({needed} bytes); proceeding without locking"
        );
        return;
    }
    if let Err(e) = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
        eprintln!("warning: -k invalid, mlockall() failed: {e}");
    }
}

/// `-r`: let the process dump a core of any size, as far as the hard limit allows.
fn raise_core_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};
    if setrlimit(Resource::RLIMIT_CORE, RLIM_INFINITY, RLIM_INFINITY).is_err() {
        if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_CORE) {
            if setrlimit(Resource::RLIMIT_CORE, hard, hard).is_err() {
                eprintln!("failed to ensure corefile creation");
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn drop_privileges(user: &nix::unistd::User) -> nix::Result<()> {
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(user.gid)?;
    nix::unistd::setuid(user.uid)
}

/// The signals that stop the server.
fn stop_signals() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for signal in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGUSR1] {
        set.add(signal);
    }
    set
}

/// SIGTERM and SIGINT stop the server cleanly; SIGUSR1 stops it gracefully, which with `-e`
/// saves the cache for the next start (memcached's signals). The handlers are in place when
/// this returns; what a signal asks for is done once the server's handle arrives on the
/// returned channel (at once if it is already running).
fn catch_signals() -> std::io::Result<std::sync::mpsc::SyncSender<ShutdownHandle>> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut term, mut int, mut usr1) = {
        let _in_runtime = runtime.enter();
        (
            signal(SignalKind::terminate())?,
            signal(SignalKind::interrupt())?,
            signal(SignalKind::user_defined1())?,
        )
    };
    let (handle_tx, handle_rx) = std::sync::mpsc::sync_channel::<ShutdownHandle>(1);
    std::thread::Builder::new()
        .name("mc-signals".into())
        .spawn(move || {
            let graceful = runtime.block_on(async {
                tokio::select! {
                    _ = term.recv() => {
                        tracing::info!("SIGTERM");
                        false
                    }
                    _ = int.recv() => {
                        tracing::info!("SIGINT");
                        false
                    }
                    _ = usr1.recv() => {
                        tracing::info!("SIGUSR1: graceful stop");
                        true
                    }
                }
            });
            // Still starting: stop as soon as it runs. (If it never does, the process is
            // exiting anyway.)
            if let Ok(handle) = handle_rx.recv() {
                if graceful {
                    handle.shutdown_graceful();
                } else {
                    handle.shutdown();
                }
            }
        })?;
    Ok(handle_tx)
}
