//! memcached's command line: every option of memcached 1.6.18's `-h` and every `-o` suboption,
//! read as memcached reads them (glibc's `getopt_long`, C's `atoi`), checked with memcached's
//! error texts and exit statuses.
//!
//! An option either acts as it does in memcached, or, where it has no meaning for this server's
//! design (extstore, the segmented LRU, large pages), is accepted and listed in
//! [`Launch::ignored`] so the binary logs it once at warn; `stats settings` shows its value.
//! Options that change security (`-Z`, `-S`, `-Y`, `-a`, `-l`, `sock_cookie_id`) are always
//! implemented or refused, never ignored.

mod extended;
mod getopt;
mod numbers;
mod usage;

use std::path::PathBuf;

pub use extended::SUBOPTIONS;
pub use usage::{help_text, license_text, version_text};

use crate::config::{Auth, Config, Protocol, TlsSettings};
use crate::storage::{item_header_len, MAX_PAGE_BYTES, PAGE_SIZE};
use extended::Extended;
use getopt::{Arg, Opt};
use numbers::{atof, atoi, strtol};

/// memcached's exit status for usage errors (EX_USAGE).
pub const EX_USAGE: u8 = 64;

/// A command line that cannot be run: what to print on stderr, and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The message, as memcached prints it.
    pub message: String,
    /// The process exit status.
    pub code: u8,
}

impl CliError {
    pub(crate) fn new(message: String, code: u8) -> CliError {
        CliError { message, code }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// What a command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Print this (help, license or version) on stdout and exit 0.
    Print(String),
    /// Run a server.
    Run(Box<Launch>),
}

/// A server to run, and how the process runs it.
#[derive(Debug)]
pub struct Launch {
    /// The server's configuration.
    pub config: Config,
    /// Run in the background (`-d`).
    pub daemon: bool,
    /// The user to become after binding (`-u`).
    pub user: Option<String>,
    /// Where to write the process id (`-P`).
    pub pidfile: Option<PathBuf>,
    /// Lock all memory so it is never swapped (`-k`).
    pub lock_memory: bool,
    /// Raise the core file limit (`-r`).
    pub enable_coredumps: bool,
    /// Options accepted without effect on this server, each with why: log each once at warn.
    pub ignored: Vec<String>,
}

/// memcached's options: short letter, long name (none for `-D`), argument.
const OPTIONS: &[Opt] = &[
    Opt {
        short: 'a',
        long: "unix-mask",
        arg: Arg::Required,
    },
    Opt {
        short: 'A',
        long: "enable-shutdown",
        arg: Arg::No,
    },
    Opt {
        short: 'Z',
        long: "enable-ssl",
        arg: Arg::No,
    },
    Opt {
        short: 'p',
        long: "port",
        arg: Arg::Required,
    },
    Opt {
        short: 's',
        long: "unix-socket",
        arg: Arg::Required,
    },
    Opt {
        short: 'U',
        long: "udp-port",
        arg: Arg::Required,
    },
    Opt {
        short: 'm',
        long: "memory-limit",
        arg: Arg::Required,
    },
    Opt {
        short: 'M',
        long: "disable-evictions",
        arg: Arg::No,
    },
    Opt {
        short: 'c',
        long: "conn-limit",
        arg: Arg::Required,
    },
    Opt {
        short: 'k',
        long: "lock-memory",
        arg: Arg::No,
    },
    Opt {
        short: 'h',
        long: "help",
        arg: Arg::No,
    },
    Opt {
        short: 'i',
        long: "license",
        arg: Arg::No,
    },
    Opt {
        short: 'V',
        long: "version",
        arg: Arg::No,
    },
    Opt {
        short: 'r',
        long: "enable-coredumps",
        arg: Arg::No,
    },
    Opt {
        short: 'v',
        long: "verbose",
        arg: Arg::Optional,
    },
    Opt {
        short: 'd',
        long: "daemon",
        arg: Arg::No,
    },
    Opt {
        short: 'l',
        long: "listen",
        arg: Arg::Required,
    },
    Opt {
        short: 'u',
        long: "user",
        arg: Arg::Required,
    },
    Opt {
        short: 'P',
        long: "pidfile",
        arg: Arg::Required,
    },
    Opt {
        short: 'f',
        long: "slab-growth-factor",
        arg: Arg::Required,
    },
    Opt {
        short: 'n',
        long: "slab-min-size",
        arg: Arg::Required,
    },
    Opt {
        short: 't',
        long: "threads",
        arg: Arg::Required,
    },
    Opt {
        short: 'D',
        long: "",
        arg: Arg::Required,
    },
    Opt {
        short: 'L',
        long: "enable-largepages",
        arg: Arg::No,
    },
    Opt {
        short: 'R',
        long: "max-reqs-per-event",
        arg: Arg::Required,
    },
    Opt {
        short: 'C',
        long: "disable-cas",
        arg: Arg::No,
    },
    Opt {
        short: 'b',
        long: "listen-backlog",
        arg: Arg::Required,
    },
    Opt {
        short: 'B',
        long: "protocol",
        arg: Arg::Required,
    },
    Opt {
        short: 'I',
        long: "max-item-size",
        arg: Arg::Required,
    },
    Opt {
        short: 'S',
        long: "enable-sasl",
        arg: Arg::No,
    },
    Opt {
        short: 'F',
        long: "disable-flush-all",
        arg: Arg::No,
    },
    Opt {
        short: 'X',
        long: "disable-dumping",
        arg: Arg::No,
    },
    Opt {
        short: 'W',
        long: "disable-watch",
        arg: Arg::No,
    },
    Opt {
        short: 'Y',
        long: "auth-file",
        arg: Arg::Required,
    },
    Opt {
        short: 'e',
        long: "memory-file",
        arg: Arg::Required,
    },
    Opt {
        short: 'o',
        long: "extended",
        arg: Arg::Required,
    },
    Opt {
        short: 'N',
        long: "napi-ids",
        arg: Arg::Required,
    },
];

/// The short letters of every option memcached 1.6.18 takes.
pub fn short_options() -> impl Iterator<Item = char> {
    OPTIONS.iter().map(|o| o.short)
}

/// The long names of memcached's options.
pub fn long_options() -> impl Iterator<Item = &'static str> {
    OPTIONS.iter().map(|o| o.long).filter(|l| !l.is_empty())
}

fn fail(message: impl Into<String>) -> CliError {
    CliError::new(message.into(), 1)
}

fn usage_error(message: impl Into<String>) -> CliError {
    CliError::new(message.into(), EX_USAGE)
}

/// memcached's `-I` syntax: bytes, or a number with a `k`/`m` suffix (either case).
fn item_size(text: &str) -> i64 {
    match text.as_bytes().last() {
        Some(b'k' | b'K') => atoi(&text[..text.len() - 1]).saturating_mul(1024),
        Some(b'm' | b'M') => atoi(&text[..text.len() - 1]).saturating_mul(1024 * 1024),
        _ => atoi(text),
    }
}

/// memcached's `slab_sizes`: chunk sizes separated by `-`, each within `[smallest, largest]`
/// and more than 8 bytes above the one before (memcached's messages; exit status 64).
fn slab_sizes(text: &str, smallest: usize, largest: usize) -> Result<Vec<usize>, CliError> {
    let mut sizes: Vec<usize> = Vec::new();
    if text.is_empty() {
        return Err(usage_error(""));
    }
    for piece in text.split('-').filter(|p| !p.is_empty()) {
        let parsed = numbers::safe_strtoul(piece);
        let size = parsed.unwrap_or(0) as usize;
        if parsed.is_none() || size < smallest || size > largest {
            return Err(usage_error(format!(
                "slab size {size} is out of valid range"
            )));
        }
        let last = sizes.last().copied().unwrap_or(0);
        if last >= size {
            return Err(usage_error(format!(
                "slab size {size} cannot be lower than or equal to a previous class size"
            )));
        }
        if size <= last + 8 {
            return Err(usage_error(format!(
                "slab size {size} must be at least 8 bytes larger than previous class"
            )));
        }
        sizes.push(size);
        if sizes.len() >= 63 {
            return Err(usage_error("too many slab classes specified"));
        }
    }
    Ok(sizes)
}

/// Read a whole command line (without the program name); `program` names the binary in
/// getopt's messages.
pub fn parse(program: &str, args: &[String]) -> Result<Command, CliError> {
    let getopt::Scan {
        found,
        operands,
        error: late_error,
    } = getopt::scan(OPTIONS, program, args);
    let mut launch = Launch {
        config: Config {
            // memcached listens on every interface unless told otherwise; mc-server, on
            // loopback (documented): an open cache is one `-l` away, not the default.
            listen: Vec::new(),
            ..Config::default()
        },
        daemon: false,
        user: None,
        pidfile: None,
        lock_memory: false,
        enable_coredumps: false,
        ignored: Vec::new(),
    };
    if !operands.is_empty() {
        launch.ignored.push(format!(
            "arguments that are not options are ignored, as memcached ignores them: {}",
            operands.join(" ")
        ));
    }
    let mut ext = Extended::default();
    let mut tcp_specified = false;
    let mut udp_specified = false;
    let mut protocol_specified = false;
    let mut sasl = false;
    let mut auth_file = None;
    let mut tls = false;
    let mut large_pages = false;
    let mut min_chunk = None;
    let mut max_item_size = 1024 * 1024;
    let mut memory_mb = 64;
    for option in found {
        let value = option.value.as_deref().unwrap_or("");
        let config = &mut launch.config;
        match option.short {
            'A' => config.enable_shutdown = true,
            'Z' => tls = true,
            'a' => config.unix_mask = (strtol(value, 8) & 0o7777) as u32,
            'U' => {
                // As with -p: 0 turns UDP off, -1 picks a free port. memcached does not
                // check the range of -U; like its socket call, take the low 16 bits.
                let port = atoi(value);
                config.udp = port != 0;
                config.udp_port = if port < 0 { 0 } else { (port & 0xffff) as u16 };
                udp_specified = true;
            }
            'p' => {
                let port = atoi(value);
                if port > 65535 {
                    return Err(usage_error(format!("ERROR: Invalid port number {port}.")));
                }
                // `-p -1` asks for any free port; `-p 0` turns TCP off.
                config.tcp = port != 0;
                config.port = port.max(0) as u16;
                tcp_specified = true;
            }
            's' => config.unix_socket = Some(PathBuf::from(value)),
            'm' => memory_mb = atoi(value),
            'M' => config.store.evict = false,
            'c' => {
                let n = atoi(value);
                if n <= 0 {
                    return Err(fail("Maximum connections must be greater than 0"));
                }
                config.max_connections = n as usize;
            }
            'h' => return Ok(Command::Print(help_text())),
            'i' => return Ok(Command::Print(license_text())),
            'V' => return Ok(Command::Print(version_text())),
            'k' => launch.lock_memory = true,
            'v' => config.verbosity += 1,
            'l' => {
                for address in value.split(',').filter(|a| !a.is_empty()) {
                    if !config.listen.iter().any(|l| l == address) {
                        config.listen.push(address.to_string());
                    }
                }
            }
            'd' => launch.daemon = true,
            'r' => launch.enable_coredumps = true,
            'R' => {
                let n = atoi(value);
                if n == 0 {
                    return Err(fail("Number of requests per event must be greater than 0"));
                }
                config.reqs_per_event = n.max(1) as u32;
            }
            'u' => launch.user = Some(value.to_string()),
            'P' => launch.pidfile = Some(PathBuf::from(value)),
            'e' => config.tuning.memory_file = Some(PathBuf::from(value)),
            'f' => {
                let factor = atof(value);
                if factor <= 1.0 {
                    return Err(fail("Factor must be greater than 1"));
                }
                config.store.growth_factor = factor;
            }
            'n' => {
                let n = atoi(value);
                if n == 0 {
                    return Err(fail("Chunk size must be greater than 0"));
                }
                min_chunk = Some(n.max(1) as usize);
            }
            't' => {
                let n = atoi(value);
                if n <= 0 {
                    return Err(fail("Number of threads must be greater than 0"));
                }
                if n > 64 {
                    launch.ignored.push("WARNING: Setting a high number of worker threads is not recommended. Set this value to the number of cores in your machine or less.".into());
                }
                config.threads = n as usize;
            }
            'D' => {
                let Some(&delimiter) = value.as_bytes().first() else {
                    return Err(fail("No delimiter specified"));
                };
                config.prefix_delimiter = delimiter;
                config.detail_enabled = true;
            }
            'L' => large_pages = true,
            'C' => config.store.cas = false,
            'b' => config.backlog = atoi(value).clamp(0, i64::from(i32::MAX)) as u32,
            'B' => {
                protocol_specified = true;
                config.protocol = match value {
                    "auto" => Protocol::Auto,
                    "binary" => Protocol::Binary,
                    "ascii" => Protocol::Ascii,
                    _ => {
                        return Err(usage_error(format!(
                            "Invalid value for binding protocol: {value}\n -- should be one of auto, binary, or ascii"
                        )))
                    }
                };
            }
            'I' => max_item_size = item_size(value),
            'S' => sasl = true,
            'F' => config.flush_enabled = false,
            'X' => config.dump_enabled = false,
            'W' => config.watch_enabled = false,
            'Y' => auth_file = Some(PathBuf::from(value)),
            'N' => {
                let n = atoi(value);
                if n <= 0 {
                    return Err(fail("Maximum number of NAPI IDs must be greater than 0"));
                }
                config.tuning.num_napi_ids = Some(n as u32);
            }
            'o' => extended::apply(value, &mut launch, &mut ext)?,
            other => return Err(fail(format!("Illegal argument \"{other}\""))),
        }
    }
    if let Some(error) = late_error {
        return Err(error);
    }
    let config = &mut launch.config;

    if let Some(napi) = config.tuning.num_napi_ids {
        if napi as usize > config.threads {
            return Err(usage_error(format!(
                "Number of napi_ids({napi}) cannot be greater than number of threads({})",
                config.threads
            )));
        }
    }
    // memcached computes `-m` in a size_t; a negative -m wraps to an enormous one.
    let max_bytes: i64 = if memory_mb < 0 {
        i64::MAX
    } else {
        memory_mb.saturating_mul(1024 * 1024)
    };
    if max_item_size < 1024 {
        return Err(usage_error("Item max size cannot be less than 1024 bytes."));
    }
    if max_item_size > max_bytes / 2 {
        return Err(usage_error(
            "Cannot set item size limit higher than 1/2 of memory max.",
        ));
    }
    if max_item_size > 1024 * 1024 * 1024 {
        return Err(usage_error(
            "Cannot set item size limit higher than a gigabyte.",
        ));
    }
    if max_bytes > MAX_PAGE_BYTES as i64 {
        return Err(usage_error(format!(
            "-m {memory_mb} is more than mc-server can address: at most {} megabytes",
            MAX_PAGE_BYTES >> 20
        )));
    }
    config.store.max_bytes = max_bytes as usize;
    config.store.max_item_size = max_item_size as usize;
    if max_item_size > 1024 * 1024 && !ext.slab_chunk_max_changed {
        config.store.slab_chunk_max = PAGE_SIZE / 2;
    }
    let chunk_max = config.store.slab_chunk_max;
    if chunk_max == 0 {
        return Err(fail("could not parse argument to slab_chunk_max"));
    }
    if chunk_max > config.store.max_item_size {
        return Err(usage_error(format!(
            "slab_chunk_max (bytes: {chunk_max}) cannot be larger than -I (item_size_max {})",
            config.store.max_item_size
        )));
    }
    if config.store.max_item_size % chunk_max != 0 {
        return Err(usage_error(format!(
            "-I (item_size_max: {}) must be evenly divisible by slab_chunk_max (bytes: {chunk_max})",
            config.store.max_item_size
        )));
    }
    if PAGE_SIZE % chunk_max != 0 {
        return Err(usage_error(format!(
            "slab_chunk_max (bytes: {chunk_max}) must divide evenly into {PAGE_SIZE} (slab_page_size)"
        )));
    }
    if let Some(sizes) = &ext.slab_sizes {
        let smallest = min_chunk.unwrap_or(48);
        config.store.slab_sizes = Some(slab_sizes(sizes, smallest, chunk_max)?);
    }
    if let Some(n) = min_chunk {
        // memcached's -n counts the space for key, value and flags after its item header.
        config.store.min_chunk = item_header_len() + n;
    }
    if config.tuning.lru.hot_lru_pct + config.tuning.lru.warm_lru_pct > 80 {
        return Err(usage_error(
            "hot_lru_pct + warm_lru_pct cannot be more than 80% combined",
        ));
    }
    if config.tuning.lru.temp_lru && !config.tuning.lru_maintainer {
        return Err(usage_error(
            "temporary_ttl requires lru_maintainer to be enabled",
        ));
    }
    if sasl {
        if !protocol_specified {
            config.protocol = Protocol::Binary;
        } else if config.protocol != Protocol::Binary {
            return Err(usage_error(
                "ERROR: You cannot allow the ASCII protocol while using SASL.",
            ));
        }
        if config.udp {
            return Err(usage_error(
                "ERROR: Cannot enable UDP while using binary SASL authentication.",
            ));
        }
        let pwdb = std::env::var_os("MEMCACHED_SASL_PWDB").ok_or_else(|| {
            fail("Error initializing sasl.\nmc-server's SASL (PLAIN) checks MEMCACHED_SASL_PWDB, a file of user:password lines; set it.")
        })?;
        config.auth = Auth::Sasl { pwdb: pwdb.into() };
    }
    if let Some(file) = auth_file {
        if !protocol_specified {
            config.protocol = Protocol::Ascii;
        } else if config.protocol != Protocol::Ascii {
            return Err(usage_error(
                "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.",
            ));
        }
        if config.udp {
            return Err(usage_error(
                "Cannot use UDP with ascii authentication enabled (-U 0 to disable)",
            ));
        }
        if let Err(e) = std::fs::File::open(&file) {
            return Err(fail(format!(
                "Could not open authfile [{}] for reading, error {e}",
                file.display()
            )));
        }
        config.auth = Auth::Ascii { file };
    }
    if udp_specified && config.udp_port != 0 && !tcp_specified {
        // memcached: a UDP port given without a TCP one is used for TCP too.
        config.port = config.udp_port;
    }
    if tls {
        if !config.tcp {
            return Err(usage_error(
                "ERROR: You cannot enable SSL without a TCP port.",
            ));
        }
        let tls_options = &ext.tls;
        if let Some(ciphers) = &tls_options.ciphers {
            return Err(usage_error(format!(
                "-o ssl_ciphers={ciphers}: OpenSSL cipher lists are not supported; mc-server's TLS (rustls) offers only its own modern suites"
            )));
        }
        let (Some(chain_cert), Some(key)) = (&tls_options.chain_cert, &tls_options.key) else {
            return Err(fail(
                "Error loading the certificate chain: -o ssl_chain_cert=FILE and ssl_key=FILE are required with -Z",
            ));
        };
        if tls_options.verify_mode >= 1 && tls_options.ca_cert.is_none() {
            return Err(fail(
                "ssl_verify_mode 1, 2 and 3 check client certificates: give -o ssl_ca_cert=FILE with the CAs to check them against",
            ));
        }
        config.tls = Some(TlsSettings {
            chain_cert: chain_cert.clone(),
            key: key.clone(),
            ca_cert: tls_options.ca_cert.clone(),
            verify_mode: tls_options.verify_mode,
            min_version: tls_options.min_version.max(2),
            session_cache: tls_options.session_cache,
        });
    } else if ext.tls.chain_cert.is_some() || ext.tls.key.is_some() {
        launch
            .ignored
            .push("ssl_* options without -Z: TLS is off, as in memcached".into());
    }
    if large_pages {
        launch.ignored.push(
            "-L: slab pages are allocated one by one as needed; no large-page preallocation".into(),
        );
    }
    if config.tuning.num_napi_ids.is_some() {
        launch
            .ignored
            .push("-N: connections are not spread by NAPI id here".into());
    }
    if config.listen.is_empty() {
        config.listen.push("127.0.0.1".into());
    }
    Ok(Command::Run(Box::new(launch)))
}

#[cfg(test)]
mod cli_tests;
