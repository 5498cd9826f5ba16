//! `stats` and its families: the general figures, `settings`, `items`, `slabs`, `sizes`
//! (with `sizes_enable` and `sizes_disable`), `conns`, `detail on|off|dump`, `cachedump`,
//! `extstore` and `reset`, with memcached 1.6.18's field names and order.
//!
//! Where memcached reports a mechanism this server does not have (its segmented LRU, response
//! objects, extstore), the field is kept with the value that mechanism would show here: the
//! single LRU of a class counts as memcached's cold LRU, and counters of things that never
//! happen stay 0. docs/compatibility.md lists each such field.
//!
//! Families whose length grows with the cache or the connection count (`cachedump`, `conns`,
//! `detail dump`) answer in slices, like a multi-get, so one request never holds a store shard
//! or buffers more than a slice's budget.

use std::fmt::Display;
use std::sync::atomic::Ordering;

use bytes::{Bytes, BytesMut};
use mc_proto::numbers::parse_u32;
use mc_proto::response::{
    cachedump_item_len, encode_cachedump_item, encode_prefix_stats, encode_stat,
};
use mc_proto::{Response, ServerMessage, Stats};

use super::admin::PROTOCOL_VERSION;
use super::{Control, Ctx, Progress, Resume};
use crate::clock::unix_now;
use crate::config::Auth;
use crate::runtime_settings::RuntimeSettings;
use crate::server_counters::{CommandStats, ConnectionStats};
use crate::store_shards::ShardCursor;

/// memcached's cap on a `stats cachedump` answer.
const CACHEDUMP_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Connections listed per slice of `stats conns`.
const CONNS_PER_SLICE: usize = 64;

/// Prefixes listed per slice of `stats detail dump`.
const PREFIXES_PER_SLICE: usize = 256;

/// The file descriptors the server keeps for itself beyond `-c` (see `raise_fd_limit` in the
/// binary), reported as memcached's `reserved_fds`.
pub(crate) const RESERVED_FDS: u32 = 64;

fn stat(out: &mut BytesMut, name: impl Display, value: impl Display) {
    encode_stat(out, name, value);
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

pub(crate) fn stats(request: Stats, ctx: &mut Ctx<'_>) -> Progress {
    let args: Vec<&[u8]> = request.args.iter().map(|a| &a[..]).collect();
    let response = match args.as_slice() {
        [] => {
            general(ctx);
            Response::End
        }
        [b"reset", ..] => {
            reset(ctx);
            Response::Reset
        }
        [b"detail", rest @ ..] => return detail(rest.first().copied(), ctx),
        [b"settings", ..] => {
            settings(ctx);
            Response::End
        }
        [b"cachedump", rest @ ..] => return start_cachedump(rest, ctx),
        [b"conns", ..] => return conns(ConnsDump::default(), ctx),
        [b"items", ..] => {
            items(ctx);
            Response::End
        }
        [b"slabs", ..] => {
            slabs(ctx);
            Response::End
        }
        [b"sizes", ..] => {
            sizes(ctx);
            Response::End
        }
        // memcached ends these two without END.
        [b"sizes_enable", ..] => {
            let status = if ctx.store.config().cas {
                ctx.store.track_sizes(true);
                "enabled"
            } else {
                stat(ctx.out, "sizes_status", "error");
                stat(ctx.out, "sizes_error", "cas_support_disabled");
                return Progress::Done(Control::Continue);
            };
            stat(ctx.out, "sizes_status", status);
            return Progress::Done(Control::Continue);
        }
        [b"sizes_disable", ..] => {
            ctx.store.track_sizes(false);
            stat(ctx.out, "sizes_status", "disabled");
            return Progress::Done(Control::Continue);
        }
        // No extstore: nothing to report, as memcached without `ext_path`.
        [b"extstore", ..] => Response::End,
        _ => Response::Error(Bytes::new()),
    };
    ctx.answer(response);
    Progress::Done(Control::Continue)
}

fn reset(ctx: &mut Ctx<'_>) {
    ctx.store.reset_stats();
    *ctx.counters = CommandStats::default();
    ctx.reads.clear();
    ctx.env.conn_stats.reset();
    let events = &ctx.env.events;
    for counter in [&events.written, &events.skipped, &events.sent] {
        counter.store(0, Ordering::Relaxed);
    }
    ctx.env.crawler.starts.store(0, Ordering::Relaxed);
}

fn rusage() -> (String, String) {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let fmt = |t: nix::sys::time::TimeVal| format!("{}.{:06}", t.tv_sec(), t.tv_usec());
            (fmt(usage.user_time()), fmt(usage.system_time()))
        }
        Err(_) => ("0.000000".into(), "0.000000".into()),
    }
}

fn general(ctx: &mut Ctx<'_>) {
    let env = ctx.env;
    let config = &env.config;
    // Every thread's counters, and this slice's not yet added to them.
    let mut s = ctx.store.stats();
    s.get_hits += ctx.reads.get_hits;
    s.get_misses += ctx.reads.get_misses;
    let mut c = ctx.store.command_stats();
    c.merge(ctx.counters);
    let conns = &env.conn_stats;
    let get = ConnectionStats::get;
    let lru_maintainer = config.tuning.lru_maintainer;
    let (user, system) = rusage();
    let out = &mut *ctx.out;
    let zero = 0u64;
    stat(out, "pid", std::process::id());
    stat(out, "uptime", env.clock.uptime());
    stat(out, "time", unix_now());
    stat(out, "version", PROTOCOL_VERSION);
    stat(out, "pointer_size", usize::BITS);
    stat(out, "rusage_user", user);
    stat(out, "rusage_system", system);
    stat(out, "max_connections", config.max_connections);
    let open = get(&conns.curr_connections);
    stat(out, "curr_connections", open);
    stat(out, "total_connections", get(&conns.total_connections));
    if config.maxconns_fast {
        stat(
            out,
            "rejected_connections",
            get(&conns.rejected_connections),
        );
    }
    stat(
        out,
        "connection_structures",
        open + env.conns.listener_count(),
    );
    // No response objects here: answers are encoded straight into the connection's buffer.
    stat(out, "response_obj_oom", zero);
    stat(out, "response_obj_count", zero);
    stat(out, "response_obj_bytes", zero);
    let buffers = get(&conns.read_buf_count);
    stat(out, "read_buf_count", buffers);
    stat(out, "read_buf_bytes", buffers * 16 * 1024);
    stat(out, "read_buf_bytes_free", zero);
    stat(out, "read_buf_oom", zero);
    stat(out, "reserved_fds", RESERVED_FDS);
    stat(out, "cmd_get", c.cmd_get);
    stat(out, "cmd_set", c.cmd_set);
    stat(out, "cmd_flush", c.cmd_flush);
    stat(out, "cmd_touch", c.cmd_touch);
    stat(out, "cmd_meta", c.cmd_meta);
    stat(out, "get_hits", s.get_hits);
    stat(out, "get_misses", s.get_misses);
    stat(out, "get_expired", s.get_expired);
    stat(out, "get_flushed", s.get_flushed);
    stat(out, "delete_misses", s.delete_misses);
    stat(out, "delete_hits", s.delete_hits);
    stat(out, "incr_misses", s.incr_misses);
    stat(out, "incr_hits", s.incr_hits);
    stat(out, "decr_misses", s.decr_misses);
    stat(out, "decr_hits", s.decr_hits);
    stat(out, "cas_misses", s.cas_misses);
    stat(out, "cas_hits", s.cas_hits);
    stat(out, "cas_badval", s.cas_badval);
    stat(out, "touch_hits", s.touch_hits);
    stat(out, "touch_misses", s.touch_misses);
    stat(out, "store_too_large", s.store_too_large);
    stat(out, "store_no_memory", s.store_no_memory);
    stat(out, "auth_cmds", get(&conns.auth_cmds));
    stat(out, "auth_errors", get(&conns.auth_errors));
    if config.idle_timeout > 0 {
        stat(out, "idle_kicks", get(&conns.idle_kicks));
    }
    stat(out, "bytes_read", get(&conns.bytes_read));
    stat(out, "bytes_written", get(&conns.bytes_written));
    stat(out, "limit_maxbytes", ctx.store.config().max_bytes);
    stat(
        out,
        "accepting_conns",
        u8::from(conns.accepting_conns.load(Ordering::Relaxed)),
    );
    stat(out, "listen_disabled_num", get(&conns.listen_disabled_num));
    stat(
        out,
        "time_in_listen_disabled_us",
        get(&conns.time_in_listen_disabled_us),
    );
    stat(out, "threads", config.threads);
    stat(out, "conn_yields", get(&conns.conn_yields));
    stat(out, "hash_power_level", ctx.store.hash_power());
    stat(out, "hash_bytes", ctx.store.index_bytes());
    // The index grows in place when it fills, inside the write that fills it.
    stat(out, "hash_is_expanding", 0);
    if config.slab_reassign {
        // Items on a page that moves are evicted, never rescued to another chunk.
        stat(out, "slab_reassign_rescues", zero);
        stat(out, "slab_reassign_chunk_rescues", zero);
        stat(
            out,
            "slab_reassign_evictions_nomem",
            s.slab_reassign_evictions,
        );
        stat(out, "slab_reassign_inline_reclaim", zero);
        stat(out, "slab_reassign_busy_items", zero);
        stat(out, "slab_reassign_busy_deletes", zero);
        // A page moves within one command; none is ever half moved between commands.
        stat(out, "slab_reassign_running", 0);
        stat(out, "slabs_moved", s.slabs_moved);
    }
    if config.lru_crawler {
        let crawler = &env.crawler;
        stat(
            out,
            "lru_crawler_running",
            u8::from(crawler.running.load(Ordering::Relaxed)),
        );
        stat(
            out,
            "lru_crawler_starts",
            crawler.starts.load(Ordering::Relaxed),
        );
    }
    if lru_maintainer {
        stat(out, "lru_maintainer_juggles", zero);
    }
    stat(out, "malloc_fails", zero);
    let events = &env.events;
    stat(out, "log_worker_dropped", zero);
    stat(
        out,
        "log_worker_written",
        events.written.load(Ordering::Relaxed),
    );
    stat(
        out,
        "log_watcher_skipped",
        events.skipped.load(Ordering::Relaxed),
    );
    stat(out, "log_watcher_sent", events.sent.load(Ordering::Relaxed));
    stat(out, "log_watchers", events.watchers());
    if let Some(tls) = &config.tls {
        if tls.session_cache {
            stat(out, "ssl_new_sessions", get(&conns.ssl_new_sessions));
        }
        stat(
            out,
            "ssl_handshake_errors",
            get(&conns.ssl_handshake_errors),
        );
        stat(
            out,
            "time_since_server_cert_refresh",
            env.clock
                .now()
                .saturating_sub(get(&conns.ssl_cert_loaded_at) as u32),
        );
    }
    stat(out, "unexpected_napi_ids", zero);
    stat(out, "round_robin_fallback", zero);
    stat(out, "bytes", ctx.store.bytes());
    stat(out, "curr_items", ctx.store.len());
    stat(out, "total_items", s.total_items);
    stat(out, "slab_global_page_pool", ctx.store.free_pages());
    stat(out, "expired_unfetched", s.expired_unfetched);
    stat(out, "evicted_unfetched", s.evicted_unfetched);
    if lru_maintainer {
        stat(out, "evicted_active", zero);
    }
    stat(out, "evictions", s.evictions);
    stat(out, "reclaimed", s.reclaimed);
    stat(out, "crawler_reclaimed", s.crawler_reclaimed);
    stat(out, "crawler_items_checked", s.crawler_items_checked);
    stat(out, "lrutail_reflocked", zero);
    if lru_maintainer {
        stat(out, "moves_to_cold", zero);
        stat(out, "moves_to_warm", zero);
        stat(out, "moves_within_lru", zero);
        stat(out, "direct_reclaims", s.direct_reclaims);
        stat(out, "lru_bumps_dropped", zero);
    }
    // This server's own, after memcached's.
    stat(
        out,
        "server",
        concat!("mc-server ", env!("CARGO_PKG_VERSION")),
    );
    stat(out, "slab_pages_bytes", ctx.store.allocated_bytes());
}

fn settings(ctx: &mut Ctx<'_>) {
    let env = ctx.env;
    let config = &env.config;
    let t = &config.tuning;
    let runtime = &env.runtime;
    let store = ctx.store.config();
    let lru = runtime.lru.lock().clone();
    let out = &mut *ctx.out;
    let get = RuntimeSettings::get;
    stat(out, "maxbytes", store.max_bytes);
    stat(out, "maxconns", config.max_connections);
    stat(out, "tcpport", if config.tcp { config.port } else { 0 });
    stat(out, "udpport", if config.udp { config.udp_port } else { 0 });
    stat(
        out,
        "inter",
        if config.listen.is_empty() {
            "NULL".to_string()
        } else {
            config.listen.join(",")
        },
    );
    stat(out, "verbosity", runtime.verbosity());
    stat(out, "oldest", 0);
    stat(out, "evictions", if store.evict { "on" } else { "off" });
    stat(
        out,
        "domain_socket",
        config
            .unix_socket
            .as_ref()
            .map_or("NULL".to_string(), |p| p.display().to_string()),
    );
    stat(out, "umask", format!("{:o}", config.unix_mask));
    stat(out, "shutdown_command", yes_no(config.enable_shutdown));
    stat(out, "growth_factor", format!("{:.2}", store.growth_factor));
    stat(
        out,
        "chunk_size",
        store
            .min_chunk
            .saturating_sub(crate::storage::item_header_len()),
    );
    stat(out, "num_threads", config.threads);
    stat(out, "num_threads_per_udp", config.threads);
    stat(out, "stat_key_prefix", char::from(config.prefix_delimiter));
    stat(
        out,
        "detail_enabled",
        yes_no(RuntimeSettings::on(&runtime.detail_enabled)),
    );
    stat(out, "reqs_per_event", config.reqs_per_event);
    stat(out, "cas_enabled", yes_no(store.cas));
    stat(out, "tcp_backlog", config.backlog);
    stat(out, "binding_protocol", config.protocol.name());
    stat(
        out,
        "auth_enabled_sasl",
        yes_no(matches!(config.auth, Auth::Sasl { .. })),
    );
    stat(
        out,
        "auth_enabled_ascii",
        match &config.auth {
            Auth::Ascii { file } => file.display().to_string(),
            _ => "no".to_string(),
        },
    );
    stat(out, "item_size_max", store.max_item_size);
    stat(out, "maxconns_fast", yes_no(config.maxconns_fast));
    stat(out, "hashpower_init", t.hashpower_init);
    stat(out, "slab_reassign", yes_no(config.slab_reassign));
    stat(out, "slab_automove", get(&runtime.slab_automove));
    stat(
        out,
        "slab_automove_ratio",
        format!("{:.2}", t.slab_automove_ratio),
    );
    stat(out, "slab_automove_window", t.slab_automove_window);
    stat(out, "slab_chunk_max", store.slab_chunk_max);
    stat(
        out,
        "lru_crawler",
        yes_no(RuntimeSettings::on(&runtime.lru_crawler)),
    );
    stat(out, "lru_crawler_sleep", get(&runtime.lru_crawler_sleep));
    stat(
        out,
        "lru_crawler_tocrawl",
        get(&runtime.lru_crawler_tocrawl),
    );
    stat(out, "tail_repair_time", t.tail_repair_time);
    stat(out, "flush_enabled", yes_no(config.flush_enabled));
    stat(out, "dump_enabled", yes_no(config.dump_enabled));
    stat(out, "hash_algorithm", &t.hash_algorithm);
    stat(out, "lru_maintainer_thread", yes_no(t.lru_maintainer));
    stat(
        out,
        "lru_segmented",
        yes_no(RuntimeSettings::on(&runtime.lru_segmented)),
    );
    stat(out, "hot_lru_pct", lru.hot_lru_pct);
    stat(out, "warm_lru_pct", lru.warm_lru_pct);
    stat(out, "hot_max_factor", format!("{:.2}", lru.hot_max_factor));
    stat(
        out,
        "warm_max_factor",
        format!("{:.2}", lru.warm_max_factor),
    );
    stat(out, "temp_lru", yes_no(lru.temp_lru));
    stat(out, "temporary_ttl", lru.temporary_ttl);
    stat(out, "idle_timeout", config.idle_timeout);
    stat(out, "watcher_logbuf_size", config.watcher_logbuf_size);
    stat(out, "worker_logbuf_size", t.worker_logbuf_size);
    stat(out, "read_buf_mem_limit", t.read_buf_mem_limit);
    stat(out, "track_sizes", yes_no(ctx.store.sizes().is_some()));
    stat(out, "inline_ascii_response", "no");
    // extstore's settings, as given (there is no extstore here).
    let ext = |name: &str, default: &str| {
        t.extstore
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(default.to_string(), |(_, v)| v.clone())
    };
    stat(out, "ext_item_size", ext("ext_item_size", "512"));
    stat(out, "ext_item_age", ext("ext_item_age", "4294967295"));
    stat(out, "ext_low_ttl", ext("ext_low_ttl", "0"));
    stat(out, "ext_recache_rate", ext("ext_recache_rate", "2000"));
    stat(out, "ext_wbuf_size", ext("ext_wbuf_size", "4194304"));
    stat(out, "ext_compact_under", ext("ext_compact_under", "0"));
    stat(out, "ext_drop_under", ext("ext_drop_under", "0"));
    stat(out, "ext_max_sleep", ext("ext_max_sleep", "1000000"));
    stat(out, "ext_max_frag", ext("ext_max_frag", "0.80"));
    stat(
        out,
        "slab_automove_freeratio",
        ext("slab_automove_freeratio", "0.010"),
    );
    stat(
        out,
        "ext_drop_unread",
        if t.extstore.iter().any(|(n, _)| n == "ext_drop_unread") {
            "yes"
        } else {
            "no"
        },
    );
    let tls = config.tls.as_ref();
    stat(out, "ssl_enabled", yes_no(tls.is_some()));
    let path = |p: Option<&std::path::PathBuf>, none: &str| {
        p.map_or(none.to_string(), |p| p.display().to_string())
    };
    stat(
        out,
        "ssl_chain_cert",
        path(tls.map(|t| &t.chain_cert), "(null)"),
    );
    stat(out, "ssl_key", path(tls.map(|t| &t.key), "(null)"));
    stat(out, "ssl_verify_mode", tls.map_or(0, |t| t.verify_mode));
    stat(out, "ssl_keyformat", t.ssl_keyformat);
    stat(out, "ssl_ciphers", "NULL");
    stat(
        out,
        "ssl_ca_cert",
        path(tls.and_then(|t| t.ca_cert.as_ref()), "NULL"),
    );
    stat(out, "ssl_wbuf_size", t.ssl_wbuf_size);
    stat(
        out,
        "ssl_session_cache",
        yes_no(tls.is_some_and(|t| t.session_cache)),
    );
    stat(out, "ssl_kernel_tls", yes_no(t.ssl_kernel_tls));
    stat(
        out,
        "ssl_min_version",
        if tls.is_some_and(|t| t.min_version >= 3) {
            "tlsv1.3"
        } else {
            "tlsv1.2"
        },
    );
    stat(
        out,
        "num_napi_ids",
        t.num_napi_ids
            .map_or("(null)".to_string(), |n| n.to_string()),
    );
    stat(out, "memory_file", path(t.memory_file.as_ref(), "(null)"));
    // mc-server's own, after memcached's fields: which I/O path serves TCP connections.
    stat(out, "io_uring", yes_no(config.io_uring));
}

fn items(ctx: &mut Ctx<'_>) {
    let maintainer = ctx.env.config.tuning.lru_maintainer;
    let temp_lru = ctx.env.runtime.lru.lock().temp_lru;
    for class in class_stats(ctx) {
        if class.items == 0 {
            continue;
        }
        let c = class.counters;
        let id = class.id;
        let out = &mut *ctx.out;
        let mut s =
            |name: &str, value: &dyn Display| stat(out, format!("items:{id}:{name}"), value);
        s("number", &class.items);
        // One LRU per class: every item is where memcached's segmented LRU keeps its coldest.
        if maintainer {
            s("number_hot", &0);
            s("number_warm", &0);
            s("number_cold", &class.items);
            if temp_lru {
                s("number_temp", &0);
            }
            s("age_hot", &0);
            s("age_warm", &0);
        }
        s("age", &class.oldest_age);
        s("mem_requested", &c.mem_requested);
        s("evicted", &c.evicted);
        s("evicted_nonzero", &c.evicted_nonzero);
        s("evicted_time", &c.evicted_time);
        s("outofmemory", &c.outofmemory);
        s("tailrepairs", &0);
        s("reclaimed", &c.reclaimed);
        s("expired_unfetched", &c.expired_unfetched);
        s("evicted_unfetched", &c.evicted_unfetched);
        if maintainer {
            s("evicted_active", &0);
        }
        s("crawler_reclaimed", &c.crawler_reclaimed);
        s("crawler_items_checked", &c.crawler_items_checked);
        s("lrutail_reflocked", &0);
        if maintainer {
            s("moves_to_cold", &0);
            s("moves_to_warm", &0);
            s("moves_within_lru", &0);
            s("direct_reclaims", &c.direct_reclaims);
            s("hits_to_hot", &0);
            s("hits_to_warm", &0);
            s("hits_to_cold", &c.get_hits);
            s("hits_to_temp", &0);
        }
    }
}

/// Per-class figures, with the hits this slice answered with shared access (not yet added to
/// the thread's counts).
fn class_stats(ctx: &Ctx<'_>) -> Vec<crate::storage::ClassStats> {
    let mut classes = ctx.store.class_stats(ctx.now);
    for class in &mut classes {
        let hits = ctx.reads.class_get_hits.get(class.id - 1).copied();
        class.counters.get_hits += hits.unwrap_or(0);
    }
    classes
}

fn slabs(ctx: &mut Ctx<'_>) {
    // Large items live outside the slab pages: `stats items` lists them, `stats slabs` not.
    let classes: Vec<_> = class_stats(ctx).into_iter().filter(|c| !c.large).collect();
    let out = &mut *ctx.out;
    for class in &classes {
        let id = class.id;
        let c = class.counters;
        let total = class.pages * class.chunks_per_page;
        let mut s = |name: &str, value: &dyn Display| stat(out, format!("{id}:{name}"), value);
        s("chunk_size", &class.chunk_size);
        s("chunks_per_page", &class.chunks_per_page);
        s("total_pages", &class.pages);
        s("total_chunks", &total);
        s("used_chunks", &class.items);
        s("free_chunks", &class.free_chunks);
        s(
            "free_chunks_end",
            &total.saturating_sub(class.items + class.free_chunks),
        );
        s("get_hits", &c.get_hits);
        s("cmd_set", &c.cmd_set);
        s("delete_hits", &c.delete_hits);
        s("incr_hits", &c.incr_hits);
        s("decr_hits", &c.decr_hits);
        s("cas_hits", &c.cas_hits);
        s("cas_badval", &c.cas_badval);
        s("touch_hits", &c.touch_hits);
    }
    stat(out, "active_slabs", classes.len());
    stat(out, "total_malloced", ctx.store.allocated_bytes());
}

fn sizes(ctx: &mut Ctx<'_>) {
    match ctx.store.sizes() {
        Some(histogram) => {
            for (size, count) in histogram.nonzero() {
                stat(ctx.out, size, count);
            }
        }
        None => stat(ctx.out, "sizes_status", "disabled"),
    }
}

/// `stats detail on|off|dump`.
fn detail(arg: Option<&[u8]>, ctx: &mut Ctx<'_>) -> Progress {
    let detail = &ctx.env.runtime.detail_enabled;
    match arg {
        Some(b"on") => RuntimeSettings::set(detail, true),
        Some(b"off") => RuntimeSettings::set(detail, false),
        Some(b"dump") => return detail_dump(DetailDump::default(), ctx),
        _ => {
            ctx.message(ServerMessage::DetailUsage);
            return Progress::Done(Control::Continue);
        }
    }
    ctx.answer(Response::Ok);
    Progress::Done(Control::Continue)
}

/// A `stats detail dump` in progress.
#[derive(Debug, Default)]
pub(crate) struct DetailDump {
    /// The last prefix listed.
    after: Option<Vec<u8>>,
}

pub(crate) fn detail_dump(mut dump: DetailDump, ctx: &mut Ctx<'_>) -> Progress {
    let page = ctx
        .store
        .prefixes()
        .page(dump.after.as_deref(), PREFIXES_PER_SLICE);
    ctx.budget.spend(page.len());
    let full = page.len() == PREFIXES_PER_SLICE;
    for (prefix, c) in &page {
        encode_prefix_stats(ctx.out, prefix, c.gets, c.hits, c.sets, c.deletes);
    }
    if full {
        dump.after = page.last().map(|(p, _)| p.clone());
        return Progress::Paused(Resume::Detail(dump));
    }
    ctx.answer(Response::End);
    Progress::Done(Control::Continue)
}

/// A `stats conns` in progress.
#[derive(Debug, Default)]
pub(crate) struct ConnsDump {
    /// The id to go on from; `None` before the first slice (which lists the listeners).
    next: Option<i32>,
}

pub(crate) fn conns(mut dump: ConnsDump, ctx: &mut Ctx<'_>) -> Progress {
    let (lines, next) = ctx.env.conns.lines(dump.next, CONNS_PER_SLICE, ctx.now);
    ctx.budget.spend(lines.len());
    let me = ctx.client.id;
    for line in lines {
        let id = line.id;
        stat(ctx.out, format!("{id}:addr"), &line.addr);
        if let Some(listen) = &line.listen_addr {
            stat(ctx.out, format!("{id}:listen_addr"), listen);
        }
        // The connection asking is, by definition, running a command.
        let state = if id == me && line.listen_addr.is_some() {
            "conn_parse_cmd"
        } else {
            line.state
        };
        stat(ctx.out, format!("{id}:state"), state);
        stat(
            ctx.out,
            format!("{id}:secs_since_last_cmd"),
            line.secs_since_last_cmd,
        );
    }
    match next {
        Some(next) => {
            dump.next = Some(next);
            Progress::Paused(Resume::Conns(dump))
        }
        None => {
            ctx.answer(Response::End);
            Progress::Done(Control::Continue)
        }
    }
}

/// A `stats cachedump` in progress.
#[derive(Debug)]
pub(crate) struct Cachedump {
    class: usize,
    limit: u32,
    shown: u32,
    bytes: usize,
    cursor: ShardCursor,
}

fn start_cachedump(args: &[&[u8]], ctx: &mut Ctx<'_>) -> Progress {
    let response = if !ctx.env.config.dump_enabled {
        Response::Message(ServerMessage::CachedumpNotAllowed)
    } else if args.len() < 2 {
        Response::Message(ServerMessage::BadCommandLine)
    } else {
        match (parse_u32(args[0]), parse_u32(args[1])) {
            // memcached has at most 63 classes and refuses ids from 64 on; this server may
            // have up to 250, so it refuses ids from 256 (libmemcached's memcdump asks for
            // 0 to 255, and takes a refusal as the end of that class).
            (Some(id), _) if id >= 256 => Response::Message(ServerMessage::IllegalSlabId),
            (Some(id), Some(limit)) => {
                let classes = ctx.store.class_count();
                if id == 0 || id as usize > classes {
                    Response::End
                } else {
                    let dump = Cachedump {
                        class: id as usize - 1,
                        limit,
                        shown: 0,
                        bytes: 0,
                        cursor: ShardCursor::default(),
                    };
                    return cachedump(dump, ctx);
                }
            }
            _ => Response::Message(ServerMessage::BadCommandLineFormat),
        }
    };
    ctx.answer(response);
    Progress::Done(Control::Continue)
}

/// Continue a cachedump: `ITEM <key> [<bytes> b; <expiry> s]` per item of the class, until
/// the limit, memcached's 2 MiB cap, or the end of the class.
pub(crate) fn cachedump(mut dump: Cachedump, ctx: &mut Ctx<'_>) -> Progress {
    let clock = &ctx.env.clock;
    let out = &mut *ctx.out;
    let class = dump.class;
    let mut listed = 0;
    let mut full = false;
    let limit = dump.limit;
    let (shown, bytes) = (&mut dump.shown, &mut dump.bytes);
    let next = ctx.store.scan(
        dump.cursor,
        ctx.budget.steps_mut(),
        ctx.now,
        |c| c == class,
        |item| {
            if full || (limit != 0 && *shown >= limit) {
                full = true;
                return;
            }
            // A binary-protocol key may hold spaces or line ends, which would break the
            // text answer; memcached skips such keys too.
            if item.key().iter().any(|&b| b <= b' ' || b == 0x7f) {
                return;
            }
            let exp = if item.exptime() == 0 {
                0
            } else {
                clock.to_unix(item.exptime())
            };
            let size = cachedump_item_len(item.key(), item.value().len(), exp);
            // memcached keeps room for its `END`.
            if *bytes + size + 5 > CACHEDUMP_MAX_BYTES {
                full = true;
                return;
            }
            encode_cachedump_item(out, item.key(), item.value().len(), exp);
            *bytes += size;
            *shown += 1;
            listed += 1;
        },
    );
    ctx.budget.spend(listed);
    match next {
        Some(cursor) if !full => {
            dump.cursor = cursor;
            Progress::Paused(Resume::Cachedump(dump))
        }
        _ => {
            ctx.answer(Response::End);
            Progress::Done(Control::Continue)
        }
    }
}
