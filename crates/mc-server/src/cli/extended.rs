//! `-o`: memcached's comma-separated extended options. Every suboption memcached 1.6.18
//! (Debian's build, with extstore and TLS) accepts is accepted here, with its error texts and
//! exit status; each either changes this server's behaviour or is recorded as ignored, with
//! why, to be logged once at warn and shown by `stats settings`.

use std::path::PathBuf;

use super::numbers::{atof, atoi, safe_strtol, safe_strtoul};
use super::{CliError, Launch};

/// Every suboption, as `memcached -h` and its source list them.
pub const SUBOPTIONS: &[&str] = &[
    "maxconns_fast",
    "hashpower",
    "no_hashexpand",
    "slab_reassign",
    "slab_automove",
    "slab_automove_ratio",
    "slab_automove_window",
    "tail_repair_time",
    "hash_algorithm",
    "lru_crawler",
    "lru_crawler_sleep",
    "lru_crawler_tocrawl",
    "lru_maintainer",
    "hot_lru_pct",
    "warm_lru_pct",
    "hot_max_factor",
    "warm_max_factor",
    "temporary_ttl",
    "idle_timeout",
    "watcher_logbuf_size",
    "worker_logbuf_size",
    "slab_sizes",
    "slab_chunk_max",
    "track_sizes",
    "no_inline_ascii_resp",
    "modern",
    "no_modern",
    "no_chunked_items",
    "no_slab_reassign",
    "no_slab_automove",
    "no_maxconns_fast",
    "inline_ascii_resp",
    "no_lru_crawler",
    "no_lru_maintainer",
    "no_drop_privileges",
    "drop_privileges",
    "resp_obj_mem_limit",
    "read_buf_mem_limit",
    "ssl_chain_cert",
    "ssl_key",
    "ssl_verify_mode",
    "ssl_keyformat",
    "ssl_ciphers",
    "ssl_ca_cert",
    "ssl_wbuf_size",
    "ssl_session_cache",
    "ssl_kernel_tls",
    "ssl_min_version",
    "sock_cookie_id",
    "ext_page_size",
    "ext_wbuf_size",
    "ext_threads",
    "ext_io_depth",
    "ext_path",
    "ext_item_size",
    "ext_item_age",
    "ext_low_ttl",
    "ext_recache_rate",
    "ext_compact_under",
    "ext_drop_under",
    "ext_max_sleep",
    "ext_max_frag",
    "ext_drop_unread",
    "slab_automove_freeratio",
];

/// TLS options as given, checked together once the whole command line is read.
#[derive(Debug, Default)]
pub(crate) struct TlsOptions {
    pub(crate) chain_cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) ca_cert: Option<PathBuf>,
    pub(crate) verify_mode: u8,
    pub(crate) min_version: u8,
    pub(crate) session_cache: bool,
    pub(crate) ciphers: Option<String>,
}

/// State of the whole command line that suboptions change besides the configuration.
#[derive(Debug, Default)]
pub(crate) struct Extended {
    pub(crate) tls: TlsOptions,
    pub(crate) slab_chunk_max_changed: bool,
    pub(crate) slab_sizes: Option<String>,
}

fn missing(text: &str) -> CliError {
    CliError::new(text.to_string(), 1)
}

/// Apply one `-o` argument (a comma-separated list).
pub(crate) fn apply(list: &str, launch: &mut Launch, ext: &mut Extended) -> Result<(), CliError> {
    for item in list.split(',').filter(|s| !s.is_empty()) {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item, None),
        };
        apply_one(item, name, value, launch, ext)?;
    }
    Ok(())
}

fn apply_one(
    item: &str,
    name: &str,
    value: Option<&str>,
    launch: &mut Launch,
    ext: &mut Extended,
) -> Result<(), CliError> {
    let config = &mut launch.config;
    let tuning = &mut config.tuning;
    let mut ignored = |why: &str| launch.ignored.push(format!("-o {item}: {why}"));
    let need = |what: &str| value.ok_or_else(|| missing(what));
    match name {
        // mc-server's own: memcached has no such suboption.
        "io_uring" => config.io_uring = true,
        "maxconns_fast" => config.maxconns_fast = true,
        "no_maxconns_fast" => config.maxconns_fast = false,
        "hashpower" => {
            let v = atoi(need("Missing numeric argument for hashpower")?);
            if v < 12 {
                return Err(missing(&format!("Initial hashtable multiplier of {v} is too low")));
            }
            if v > 32 {
                return Err(missing(&format!(
                    "Initial hashtable multiplier of {v} is too high\nChoose a value based on \"STAT hash_power_level\" from a running instance"
                )));
            }
            tuning.hashpower_init = v as u32;
        }
        "no_hashexpand" => ignored("the hash index must grow with the items it holds (open addressing)"),
        "slab_reassign" => config.slab_reassign = true,
        "no_slab_reassign" => {
            config.slab_reassign = false;
            config.store.automove = false;
        }
        "slab_automove" => {
            let v = match value {
                None => 1,
                Some(v) => atoi(v),
            };
            if !(0..=2).contains(&v) {
                return Err(missing("slab_automove must be between 0 and 2"));
            }
            config.store.automove = v != 0;
        }
        "no_slab_automove" => config.store.automove = false,
        "slab_automove_ratio" => {
            let v = atof(need("Missing slab_automove_ratio argument")?);
            if v <= 0.0 || v > 1.0 {
                return Err(missing("slab_automove_ratio must be > 0 and < 1"));
            }
            tuning.slab_automove_ratio = v;
            ignored("pages move when a class needs one, not on a background schedule");
        }
        "slab_automove_window" => {
            let v = atoi(need("Missing slab_automove_window argument")?);
            if v < 3 {
                return Err(missing("slab_automove_window must be > 2"));
            }
            tuning.slab_automove_window = v as u32;
            ignored("pages move when a class needs one, not on a background schedule");
        }
        "slab_automove_freeratio" => {
            let v = need("Missing slab_automove_freeratio argument")?;
            v.trim()
                .parse::<f64>()
                .map_err(|_| missing("could not parse argument to slab_automove_freeratio"))?;
            tuning
                .extstore
                .push((name.to_string(), v.to_string()));
            ignored("extstore's automover is not part of this server");
        }
        "tail_repair_time" => {
            let v = atoi(need("Missing numeric argument for tail_repair_time")?);
            if v < 10 {
                return Err(missing("Cannot set tail_repair_time to less than 10 seconds"));
            }
            tuning.tail_repair_time = v as u32;
            ignored("items are never pinned by a reference count here, so there is nothing to repair");
        }
        "hash_algorithm" => {
            let v = need("Missing hash_algorithm argument")?;
            if !matches!(v, "jenkins" | "murmur3" | "xxh3") {
                return Err(missing("Unknown hash_algorithm option (jenkins, murmur3, xxh3)"));
            }
            tuning.hash_algorithm = v.to_string();
            ignored("the index hashes keys with ahash whatever is asked; placement is the clients' business");
        }
        "lru_crawler" => config.lru_crawler = true,
        "no_lru_crawler" => config.lru_crawler = false,
        "lru_crawler_sleep" => {
            let v = atoi(need("Missing lru_crawler_sleep value")?);
            if !(0..=1_000_000).contains(&v) {
                return Err(missing("LRU crawler sleep must be between 0 and 1 second"));
            }
            tuning.lru_crawler_sleep = v as u32;
        }
        "lru_crawler_tocrawl" => {
            let v = need("Missing lru_crawler_tocrawl value")?;
            tuning.lru_crawler_tocrawl = safe_strtoul(v)
                .ok_or_else(|| missing("lru_crawler_tocrawl takes a numeric 32bit value"))?;
        }
        "lru_maintainer" => tuning.lru_maintainer = true,
        "no_lru_maintainer" => tuning.lru_maintainer = false,
        "hot_lru_pct" | "warm_lru_pct" => {
            let v = atoi(need(&format!("Missing {name} argument"))?);
            if !(1..80).contains(&v) {
                return Err(missing(&format!("{name} must be > 1 and < 80")));
            }
            if name == "hot_lru_pct" {
                tuning.lru.hot_lru_pct = v as u32;
            } else {
                tuning.lru.warm_lru_pct = v as u32;
            }
            ignored("the LRU here is not segmented into hot, warm and cold");
        }
        "hot_max_factor" | "warm_max_factor" => {
            let v = atof(need(&format!("Missing {name} argument"))?);
            if v <= 0.0 {
                return Err(missing(&format!("{name} must be > 0")));
            }
            if name == "hot_max_factor" {
                tuning.lru.hot_max_factor = v;
            } else {
                tuning.lru.warm_max_factor = v;
            }
            ignored("the LRU here is not segmented into hot, warm and cold");
        }
        "temporary_ttl" => {
            let v = atoi(need("Missing temporary_ttl argument")?);
            tuning.lru.temp_lru = true;
            tuning.lru.temporary_ttl = v.max(0) as u32;
            ignored("items with short TTLs share their class's LRU here");
        }
        "idle_timeout" => {
            let v = atoi(need("Missing numeric argument for idle_timeout")?);
            config.idle_timeout = v.max(0) as u32;
        }
        "watcher_logbuf_size" => {
            let v = safe_strtoul(need("Missing watcher_logbuf_size argument")?)
                .ok_or_else(|| missing("could not parse argument to watcher_logbuf_size"))?;
            config.watcher_logbuf_size = v.saturating_mul(1024);
        }
        "worker_logbuf_size" => {
            let v = safe_strtoul(need("Missing worker_logbuf_size argument")?)
                .ok_or_else(|| missing("could not parse argument to worker_logbuf_size"))?;
            tuning.worker_logbuf_size = v.saturating_mul(1024);
            ignored("log entries go straight to the watchers' buffers (watcher_logbuf_size)");
        }
        "slab_sizes" => ext.slab_sizes = Some(value.unwrap_or_default().to_string()),
        "slab_chunk_max" => {
            let v = need("Missing slab_chunk_max argument")?;
            let v = safe_strtol(v)
                .ok_or_else(|| missing("could not parse argument to slab_chunk_max"))?;
            config.store.slab_chunk_max = v.max(0) as usize;
            ext.slab_chunk_max_changed = true;
        }
        "track_sizes" => config.track_sizes = true,
        "no_inline_ascii_resp" | "inline_ascii_resp" => {}
        "modern" => {}
        "no_modern" => {
            if !ext.slab_chunk_max_changed {
                config.store.slab_chunk_max = crate::storage::PAGE_SIZE;
            }
            config.store.automove = false;
            config.slab_reassign = false;
            config.maxconns_fast = false;
            config.lru_crawler = false;
            tuning.lru_maintainer = false;
            tuning.hash_algorithm = "jenkins".into();
        }
        "no_chunked_items" => config.store.slab_chunk_max = crate::storage::PAGE_SIZE,
        "no_drop_privileges" => {}
        "drop_privileges" => {
            return Err(CliError::new(
                "-o drop_privileges: mc-server has no seccomp sandbox; remove the option (-u still drops root)".into(),
                64,
            ))
        }
        "resp_obj_mem_limit" => launch
            .ignored
            .push("DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,".into()),
        "read_buf_mem_limit" => {
            let v = safe_strtoul(need("Missing read_buf_mem_limit argument")?)
                .ok_or_else(|| missing("could not parse argument to read_buf_mem_limit"))?;
            tuning.read_buf_mem_limit = v.saturating_mul(1024 * 1024);
            ignored("connections here hold no read buffer while idle (over TLS and io_uring, a 2 KiB one each) and at most the write budget while busy");
        }
        "ssl_chain_cert" => {
            ext.tls.chain_cert = Some(need("Missing ssl_chain_cert argument")?.into())
        }
        "ssl_key" => ext.tls.key = Some(need("Missing ssl_key argument")?.into()),
        "ssl_ca_cert" => ext.tls.ca_cert = Some(need("Missing ssl_ca_cert argument")?.into()),
        "ssl_verify_mode" => {
            let v = safe_strtol(need("Missing ssl_verify_mode argument")?)
                .ok_or_else(|| missing("could not parse argument to ssl_verify_mode"))?;
            if !(0..=3).contains(&v) {
                return Err(missing(
                    "Invalid ssl_verify_mode. Use help to see valid options.",
                ));
            }
            ext.tls.verify_mode = v as u8;
        }
        "ssl_keyformat" => {
            let v = safe_strtol(need("Missing ssl_keyformat argument")?)
                .ok_or_else(|| missing("could not parse argument to ssl_keyformat"))?;
            if v != 1 {
                // OpenSSL's SSL_FILETYPE_PEM; DER and ENGINE keys are not supported.
                return Err(CliError::new(
                    format!("-o ssl_keyformat={v}: only PEM keys (1) are supported"),
                    64,
                ));
            }
            tuning.ssl_keyformat = v;
        }
        "ssl_ciphers" => ext.tls.ciphers = Some(need("Missing ssl_ciphers argument")?.into()),
        "ssl_wbuf_size" => {
            let v = safe_strtoul(need("Missing ssl_wbuf_size argument")?)
                .ok_or_else(|| missing("could not parse argument to ssl_wbuf_size"))?;
            tuning.ssl_wbuf_size = v.saturating_mul(1024);
            ignored("rustls sizes its own buffers");
        }
        "ssl_session_cache" => ext.tls.session_cache = true,
        "ssl_kernel_tls" => {
            tuning.ssl_kernel_tls = true;
            ignored("TLS is done in the process (rustls), not offloaded to the kernel");
        }
        "ssl_min_version" => {
            let v = safe_strtol(need("Missing ssl_min_version argument")?)
                .ok_or_else(|| missing("could not parse argument to ssl_min_version"))?;
            match v {
                0..=2 => {
                    if v < 2 {
                        launch.ignored.push(format!(
                            "-o {item}: TLS 1.0 and 1.1 are never offered (rustls); TLS 1.2 is the oldest"
                        ));
                    }
                    ext.tls.min_version = 2;
                }
                3 => ext.tls.min_version = 3,
                _ => {
                    return Err(missing(
                        "Invalid ssl_min_version. Use help to see valid options.",
                    ))
                }
            }
        }
        "sock_cookie_id" => {
            config.sock_mark = value.and_then(safe_strtoul);
        }
        _ if name.starts_with("ext_") || SUBOPTIONS.contains(&name) => {
            extstore(item, name, value, launch)?;
        }
        _ => return Err(missing(&format!("Illegal suboption \"{item}\""))),
    }
    Ok(())
}

/// The `ext_*` suboptions: memcached's extstore (items spilled to flash), which this server
/// does not have. Values are checked as memcached checks them, then recorded as ignored.
fn extstore(
    item: &str,
    name: &str,
    value: Option<&str>,
    launch: &mut Launch,
) -> Result<(), CliError> {
    let parse_u32 = |what: &str| -> Result<u32, CliError> {
        let v = value.ok_or_else(|| missing(&format!("Missing {what} argument")))?;
        safe_strtoul(v).ok_or_else(|| missing(&format!("could not parse argument to {what}")))
    };
    match name {
        "ext_page_size" | "ext_wbuf_size" | "ext_threads" | "ext_io_depth" | "ext_item_size"
        | "ext_item_age" | "ext_low_ttl" | "ext_recache_rate" | "ext_compact_under"
        | "ext_drop_under" | "ext_max_sleep" => {
            parse_u32(name)?;
        }
        "ext_max_frag" => {
            let v = value.ok_or_else(|| missing("Missing ext_max_frag argument"))?;
            v.trim()
                .parse::<f64>()
                .map_err(|_| missing("could not parse argument to ext_max_frag"))?;
        }
        "ext_drop_unread" => {}
        "ext_path" => {
            let v = value.unwrap_or("");
            if !v.contains(':') {
                return Err(missing("must supply size to ext_path, ie: ext_path=/f/e:64m (M|G|T|P supported)\nfailed to parse ext_path argument"));
            }
        }
        _ => return Err(missing(&format!("Illegal suboption \"{item}\""))),
    }
    launch
        .config
        .tuning
        .extstore
        .push((name.to_string(), value.unwrap_or("").to_string()));
    launch.ignored.push(format!(
        "-o {item}: extstore is not part of this server; items stay in memory"
    ));
    Ok(())
}
