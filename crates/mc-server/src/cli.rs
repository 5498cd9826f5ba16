//! memcached's command line.

use std::path::PathBuf;

use clap::Parser;

use crate::config::Config;
use crate::storage::{StoreConfig, MAX_PAGE_BYTES};

/// A memcached-compatible server.
///
/// Takes memcached's flags, so `mc-server` can replace `memcached` on the same command line.
#[derive(Debug, Parser)]
#[command(name = "mc-server", version = version_text(), disable_version_flag = true)]
pub struct Cli {
    /// TCP port to listen on.
    #[arg(
        short = 'p',
        long = "port",
        default_value_t = 11211,
        value_name = "NUM"
    )]
    pub port: u16,

    /// Interface(s) to listen on, comma separated or repeated. Unlike memcached, which listens on
    /// all interfaces by default, mc-server defaults to 127.0.0.1; pass `-l 0.0.0.0` to listen
    /// everywhere.
    #[arg(
        short = 'l',
        long = "listen",
        value_name = "ADDR",
        value_delimiter = ','
    )]
    pub listen: Vec<String>,

    /// UDP port (0 = off, the default). UDP is not supported; only 0 is accepted.
    #[arg(
        short = 'U',
        long = "udp-port",
        default_value_t = 0,
        value_name = "NUM"
    )]
    pub udp_port: u16,

    /// Unix socket path to listen on (disables TCP).
    #[arg(short = 's', long = "unix-socket", value_name = "FILE")]
    pub unix_socket: Option<PathBuf>,

    /// Item memory in megabytes.
    #[arg(
        short = 'm',
        long = "memory-limit",
        default_value_t = 64,
        value_name = "MB"
    )]
    pub memory_mb: u64,

    /// Max simultaneous connections.
    #[arg(
        short = 'c',
        long = "conn-limit",
        default_value_t = 1024,
        value_name = "NUM"
    )]
    pub max_connections: usize,

    /// Number of worker threads.
    #[arg(short = 't', long = "threads", default_value_t = 4, value_name = "NUM")]
    pub threads: usize,

    /// Max item size (suffixes k and m), at least 1k and at most half of -m.
    #[arg(short = 'I', long = "max-item-size", default_value = "1m", value_parser = parse_size, value_name = "SIZE")]
    pub max_item_size: usize,

    /// Return an error when memory is exhausted instead of evicting items.
    #[arg(short = 'M', long = "disable-evictions")]
    pub no_evict: bool,

    /// Run as a daemon.
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Save the process id in this file (written after binding, removed on clean exit).
    #[arg(short = 'P', long = "pidfile", value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Assume the identity of this user after binding (required when started as root).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Enable the `shutdown` command.
    #[arg(short = 'A', long = "enable-shutdown")]
    pub enable_shutdown: bool,

    /// Listen backlog.
    #[arg(
        short = 'b',
        long = "listen-backlog",
        default_value_t = 1024,
        value_name = "NUM"
    )]
    pub backlog: u32,

    /// Verbose: -v info, -vv debug, -vvv trace logs on stderr (RUST_LOG overrides).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print version and exit.
    #[arg(short = 'V', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
}

fn version_text() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), " (memcached 1.6 protocol)")
}

/// Parse memcached's size syntax: a number of bytes, or with a `k`/`m` (or `g`) suffix.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 'b'),
    };
    let n: usize = digits.parse().map_err(|_| {
        format!("invalid size {text:?}: expected a number with an optional k or m suffix")
    })?;
    let scale = match unit {
        'b' => 1,
        'k' => 1024,
        'm' => 1024 * 1024,
        'g' => 1024 * 1024 * 1024,
        _ => return Err(format!("invalid size suffix in {text:?}: use k or m")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

impl Cli {
    /// Check the flags together and build the server configuration.
    pub fn to_config(&self) -> Result<Config, String> {
        if self.udp_port != 0 {
            return Err("UDP is not supported: -U must be 0".into());
        }
        if self.threads == 0 {
            return Err("-t must be at least 1".into());
        }
        if self.max_connections == 0 {
            return Err("-c must be at least 1".into());
        }
        if self.memory_mb == 0 {
            return Err("-m must be at least 1".into());
        }
        let max_bytes = usize::try_from(self.memory_mb)
            .ok()
            .and_then(|mb| mb.checked_mul(1024 * 1024))
            .filter(|&bytes| bytes <= MAX_PAGE_BYTES)
            .ok_or_else(|| {
                format!(
                    "-m {} is more than mc-server can address: at most {} megabytes",
                    self.memory_mb,
                    MAX_PAGE_BYTES >> 20
                )
            })?;
        if self.max_item_size < 1024 {
            return Err("Item max size cannot be less than 1024 bytes.".into());
        }
        if self.max_item_size > max_bytes / 2 {
            return Err("Cannot set item size limit higher than 1/2 of memory max.".into());
        }
        if self.max_item_size > 1024 * 1024 * 1024 {
            return Err("Cannot set item size limit higher than a gigabyte.".into());
        }
        let listen = if self.listen.is_empty() {
            vec!["127.0.0.1".to_string()]
        } else {
            self.listen.clone()
        };
        Ok(Config {
            listen,
            port: self.port,
            unix_socket: self.unix_socket.clone(),
            max_connections: self.max_connections,
            threads: self.threads,
            store: StoreConfig {
                max_bytes,
                max_item_size: self.max_item_size,
                evict: !self.no_evict,
            },
            enable_shutdown: self.enable_shutdown,
            verbosity: u32::from(self.verbose),
            backlog: self.backlog,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let cli = Cli::try_parse_from(std::iter::once("mc-server").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.to_config()
    }

    #[test]
    fn the_tutorials_command_line_parses() {
        let cli = Cli::try_parse_from([
            "mc-server",
            "-d",
            "-m",
            "10",
            "-u",
            "root",
            "-l",
            "0.0.0.0",
            "-p",
            "11211",
            "-c",
            "256",
            "-P",
            "/tmp/memcached.pid",
        ])
        .expect("memcached's flags");
        assert!(cli.daemon);
        assert_eq!(cli.user.as_deref(), Some("root"));
        let config = cli.to_config().expect("valid");
        assert_eq!(config.store.max_bytes, 10 * 1024 * 1024);
        assert_eq!(config.listen, vec!["0.0.0.0"]);
        assert_eq!(config.max_connections, 256);
    }

    #[test]
    fn defaults_match_memcached_except_the_address() {
        let config = parse(&[]).expect("defaults");
        assert_eq!(config.port, 11211);
        assert_eq!(config.max_connections, 1024);
        assert_eq!(config.threads, 4);
        assert_eq!(config.store.max_bytes, 64 * 1024 * 1024);
        assert_eq!(config.store.max_item_size, 1024 * 1024);
        assert_eq!(config.listen, vec!["127.0.0.1"]);
    }

    #[test]
    fn sizes_and_bad_values() {
        assert_eq!(parse_size("1m"), Ok(1024 * 1024));
        assert_eq!(parse_size("512k"), Ok(512 * 1024));
        assert_eq!(parse_size("2048"), Ok(2048));
        assert!(parse_size("12x").is_err());
        assert!(parse(&["-I", "100"]).is_err());
        assert!(parse(&["-m", "4", "-I", "4m"]).is_err());
        assert!(parse(&["-U", "11211"]).is_err());
        assert!(parse(&["-m", "65536"]).is_ok());
        let too_much = parse(&["-m", "65537"]).expect_err("beyond what item ids address");
        assert!(too_much.contains("at most 65536 megabytes"), "{too_much}");
        assert!(parse(&["-p", "notaport"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert_eq!(parse(&["-vv"]).map(|c| c.verbosity), Ok(2));
        assert_eq!(
            parse(&["-l", "127.0.0.1,::1"]).map(|c| c.listen.len()),
            Ok(2)
        );
    }
}
