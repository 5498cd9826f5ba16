//! Core pinning for side-by-side benchmarks: servers run on core 0, the load generator and
//! probes on core 1, so a server never competes with its own load for a core and every server
//! gets the same share of the machine. With fewer than two cores (or without `taskset`),
//! nothing is pinned and the report says so.

use std::ffi::OsStr;
use std::process::Command;

/// The core servers run on.
pub(crate) const SERVER_CORE: &str = "0";
/// The core load generators and probes run on.
pub(crate) const LOAD_CORE: &str = "1";

/// True when pinning applies: two or more cores and `taskset` (util-linux) installed.
pub(crate) fn available() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores >= 2
        && Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// A command that starts `program` on the server core.
pub(crate) fn server_command(program: impl AsRef<OsStr>) -> Command {
    if available() {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", SERVER_CORE]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// A command that starts `program` on the load core.
pub(crate) fn load_command(program: impl AsRef<OsStr>) -> Command {
    if available() {
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", LOAD_CORE]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

/// Move this process (its calling thread, and the threads it starts afterwards) to the load
/// core. Returns a line for the report saying what was pinned.
pub(crate) fn pin_self_to_load_core() -> String {
    if !available() {
        return "not pinned (fewer than 2 cores or no taskset)".into();
    }
    let pinned = Command::new("taskset")
        .args(["-p", "-c", LOAD_CORE, &std::process::id().to_string()])
        .output()
        .is_ok_and(|o| o.status.success());
    if pinned {
        format!("servers pinned to core {SERVER_CORE}, load and probes to core {LOAD_CORE}")
    } else {
        "not pinned (taskset -p failed)".into()
    }
}
