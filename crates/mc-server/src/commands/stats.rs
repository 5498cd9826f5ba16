//! `stats`, `stats settings`, `stats items`, `stats slabs`, `stats reset`.

use std::fmt::Display;
use std::sync::atomic::Ordering;

use bytes::{BufMut, BytesMut};
use mc_proto::Stats;

use super::admin::PROTOCOL_VERSION;
use super::{Control, Ctx};
use crate::clock::unix_now;
use crate::stats::{CommandStats, ConnectionStats};

fn stat(out: &mut BytesMut, name: &str, value: impl Display) {
    use std::fmt::Write as _;
    // Writing to a BytesMut cannot fail.
    let _ = write!(out, "STAT {name} {value}\r\n");
}

pub(crate) fn stats(request: Stats, ctx: &mut Ctx<'_>) -> Control {
    match request.group() {
        None => general(ctx),
        Some(b"settings") => settings(ctx),
        Some(b"items") => items(ctx),
        Some(b"slabs") => slabs(ctx),
        Some(b"reset") => {
            ctx.store.reset_stats();
            *ctx.counters = CommandStats::default();
            let conns = &ctx.env.conn_stats;
            conns.total_connections.store(0, Ordering::Relaxed);
            conns.rejected_connections.store(0, Ordering::Relaxed);
            conns.bytes_read.store(0, Ordering::Relaxed);
            conns.bytes_written.store(0, Ordering::Relaxed);
            ctx.out.put_slice(b"RESET\r\n");
            return Control::Continue;
        }
        Some(_) => {
            ctx.out.put_slice(b"ERROR\r\n");
            return Control::Continue;
        }
    }
    ctx.out.put_slice(b"END\r\n");
    Control::Continue
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
    let s = ctx.store.stats();
    let c = *ctx.counters;
    let conns = &env.conn_stats;
    let out = &mut *ctx.out;
    let (user, system) = rusage();
    stat(out, "pid", std::process::id());
    stat(out, "uptime", env.clock.uptime());
    stat(out, "time", unix_now());
    stat(out, "version", PROTOCOL_VERSION);
    stat(
        out,
        "server",
        concat!("mc-server ", env!("CARGO_PKG_VERSION")),
    );
    stat(out, "pointer_size", usize::BITS);
    stat(out, "rusage_user", user);
    stat(out, "rusage_system", system);
    stat(out, "max_connections", env.config.max_connections);
    stat(
        out,
        "curr_connections",
        ConnectionStats::get(&conns.curr_connections),
    );
    stat(
        out,
        "total_connections",
        ConnectionStats::get(&conns.total_connections),
    );
    stat(
        out,
        "rejected_connections",
        ConnectionStats::get(&conns.rejected_connections),
    );
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
    stat(out, "bytes_read", ConnectionStats::get(&conns.bytes_read));
    stat(
        out,
        "bytes_written",
        ConnectionStats::get(&conns.bytes_written),
    );
    stat(out, "limit_maxbytes", ctx.store.config().max_bytes);
    stat(out, "threads", env.config.threads);
    stat(out, "hash_bytes", ctx.store.index_bytes());
    stat(out, "bytes", ctx.store.bytes());
    stat(out, "curr_items", ctx.store.len());
    stat(out, "total_items", s.total_items);
    stat(out, "slab_pages_bytes", ctx.store.allocated_bytes());
    stat(out, "expired_unfetched", s.expired_unfetched);
    stat(out, "evicted_unfetched", s.evicted_unfetched);
    stat(out, "evictions", s.evictions);
    stat(out, "reclaimed", s.reclaimed);
}

fn settings(ctx: &mut Ctx<'_>) {
    let config = &ctx.env.config;
    let out = &mut *ctx.out;
    let on_off = |b: bool| if b { "yes" } else { "no" };
    stat(out, "maxbytes", ctx.store.config().max_bytes);
    stat(out, "maxconns", config.max_connections);
    stat(out, "tcpport", config.port);
    stat(out, "udpport", 0);
    stat(out, "inter", config.listen.join(","));
    stat(out, "verbosity", ctx.env.verbosity.load(Ordering::Relaxed));
    stat(
        out,
        "evictions",
        if config.store.evict { "on" } else { "off" },
    );
    stat(
        out,
        "domain_socket",
        config
            .unix_socket
            .as_ref()
            .map_or("NULL".to_string(), |p| p.display().to_string()),
    );
    stat(out, "growth_factor", "1.125");
    stat(out, "num_threads", config.threads);
    stat(out, "cas_enabled", "yes");
    stat(out, "tcp_backlog", config.backlog);
    stat(out, "binding_protocol", "ascii");
    stat(out, "item_size_max", config.store.max_item_size);
    stat(out, "flush_enabled", "yes");
    stat(out, "shutdown_command", on_off(config.enable_shutdown));
    stat(out, "lru_segmented", "no");
}

fn items(ctx: &mut Ctx<'_>) {
    for class in ctx.store.class_stats(ctx.now) {
        if class.items == 0 {
            continue;
        }
        let id = class.id;
        stat(ctx.out, &format!("items:{id}:number"), class.items);
        stat(ctx.out, &format!("items:{id}:age"), class.oldest_age);
    }
}

fn slabs(ctx: &mut Ctx<'_>) {
    // Large items live outside the slab pages: `stats items` lists them, `stats slabs` not.
    let classes: Vec<_> = ctx
        .store
        .class_stats(ctx.now)
        .into_iter()
        .filter(|c| !c.large)
        .collect();
    for class in &classes {
        let id = class.id;
        let total = class.pages * class.chunks_per_page;
        stat(ctx.out, &format!("{id}:chunk_size"), class.chunk_size);
        stat(
            ctx.out,
            &format!("{id}:chunks_per_page"),
            class.chunks_per_page,
        );
        stat(ctx.out, &format!("{id}:total_pages"), class.pages);
        stat(ctx.out, &format!("{id}:total_chunks"), total);
        stat(ctx.out, &format!("{id}:used_chunks"), class.items);
        stat(ctx.out, &format!("{id}:free_chunks"), class.free_chunks);
        stat(
            ctx.out,
            &format!("{id}:free_chunks_end"),
            total.saturating_sub(class.items + class.free_chunks),
        );
    }
    stat(ctx.out, "active_slabs", classes.len());
    stat(ctx.out, "total_malloced", ctx.store.allocated_bytes());
}
