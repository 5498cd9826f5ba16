//! The servers under test in benchmarks: Debian's memcached and a release mc-server, started on
//! ephemeral loopback ports (found through `MEMCACHED_PORT_FILENAME`), optionally pinned to the
//! server core, stopped by PID when dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use mc_testkit::{CpuTimes, ServerProcess};

use crate::{workspace_root, Result};

/// A server under test.
pub(crate) struct Proc {
    pub(crate) name: &'static str,
    pub(crate) process: ServerProcess,
    pub(crate) addr: SocketAddr,
}

/// Where a server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// On the server core only (the generator gets the other core).
    Pinned,
    /// Wherever the scheduler puts it.
    Free,
}

impl Proc {
    /// The process's CPU time so far, user and system, in seconds.
    pub(crate) fn cpu_times(&self) -> CpuTimes {
        self.process.cpu_times()
    }

    /// The resident set size, in MiB.
    pub(crate) fn rss_mib(&self) -> f64 {
        self.process.rss_kib() as f64 / 1024.0
    }

    /// The server's `stats`.
    pub(crate) fn stats(&self) -> Result<HashMap<String, String>> {
        mc_testkit::stats(self.addr).map_err(|e| format!("{}: stats: {e}", self.name))
    }
}

fn launch(
    name: &'static str,
    program: &Path,
    ephemeral_port: &str,
    placement: Placement,
    args: &[&str],
) -> Result<Proc> {
    let cmd = match placement {
        Placement::Pinned => crate::pinning::server_command(program),
        Placement::Free => Command::new(program),
    };
    let process = ServerProcess::launch(cmd, ephemeral_port, args)
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let addr = process.addr;
    Ok(Proc {
        name,
        process,
        addr,
    })
}

/// Debian's memcached with `-t threads -m memory_mb -c 4096` and `extra` flags.
pub(crate) fn memcached(
    threads: usize,
    memory_mb: usize,
    placement: Placement,
    extra: &[&str],
) -> Result<Proc> {
    let (t, m) = (threads.to_string(), memory_mb.to_string());
    let mut args = vec!["-t", &t, "-m", &m, "-c", "4096"];
    args.extend_from_slice(extra);
    launch("memcached", Path::new("memcached"), "-1", placement, &args)
        .map_err(|e| format!("{e} (apt-get install memcached)"))
}

/// The release mc-server with `-t threads -m memory_mb -c 4096`.
pub(crate) fn mc_server(threads: usize, memory_mb: usize, placement: Placement) -> Result<Proc> {
    mc_server_on(IoPath::Tokio, threads, memory_mb, placement)
}

/// How mc-server moves its connections' bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoPath {
    /// The default: tokio's sockets (epoll).
    Tokio,
    /// `-o io_uring`.
    Uring,
}

impl IoPath {
    /// The server's name in tables.
    pub(crate) fn server_name(self) -> &'static str {
        match self {
            IoPath::Tokio => "mc-server",
            IoPath::Uring => "mc-server -o io_uring",
        }
    }
}

/// [`mc_server`] on the I/O path `io`.
pub(crate) fn mc_server_on(
    io: IoPath,
    threads: usize,
    memory_mb: usize,
    placement: Placement,
) -> Result<Proc> {
    let (t, m) = (threads.to_string(), memory_mb.to_string());
    let mut args = vec!["-t", &t, "-m", &m, "-c", "4096"];
    if io == IoPath::Uring {
        args.extend(["-o", "io_uring"]);
    }
    launch(
        io.server_name(),
        &release_binary("mc-server"),
        "-1",
        placement,
        &args,
    )
}

/// A binary of this workspace's release build.
pub(crate) fn release_binary(name: &str) -> PathBuf {
    workspace_root().join("target/release").join(name)
}
