//! `flush_all`, `version`, `verbosity`, `shutdown`, `cache_memlimit`.

use bytes::BufMut;
use mc_proto::{CacheMemlimit, FlushAll, ShutdownMode, Verbosity};

use super::{Control, Ctx};
use crate::runtime_settings::{RuntimeSettings, MAX_VERBOSITY};

/// The memcached version we answer with. Clients and tools (memccapable among them) read it to
/// pick protocol features, so it names the memcached release whose protocol we implement.
pub(crate) const PROTOCOL_VERSION: &str = "1.6.18";

pub(crate) fn flush_all(request: FlushAll, ctx: &mut Ctx<'_>) -> Control {
    // Counted even when refused, as memcached counts it.
    ctx.counters.cmd_flush += 1;
    if !ctx.env.config.flush_enabled {
        ctx.reply(request.noreply, b"CLIENT_ERROR flush_all not allowed\r\n");
        return Control::Continue;
    }
    let at = match request.delay {
        Some(delay) if delay > 0 => Some(ctx.expiry(delay)),
        _ => None,
    };
    ctx.store.flush(at, ctx.now);
    ctx.reply(request.noreply, b"OK\r\n");
    Control::Continue
}

pub(crate) fn version(ctx: &mut Ctx<'_>) -> Control {
    ctx.out.put_slice(b"VERSION ");
    ctx.out.put_slice(PROTOCOL_VERSION.as_bytes());
    ctx.out.put_slice(b"\r\n");
    Control::Continue
}

pub(crate) fn verbosity(request: Verbosity, ctx: &mut Ctx<'_>) -> Control {
    RuntimeSettings::set(&ctx.env.runtime.verbosity, request.level.min(MAX_VERBOSITY));
    ctx.reply(request.noreply, b"OK\r\n");
    Control::Continue
}

pub(crate) fn shutdown(mode: ShutdownMode, ctx: &mut Ctx<'_>) -> Control {
    if !ctx.env.config.enable_shutdown {
        ctx.out.put_slice(b"ERROR: shutdown not enabled\r\n");
        return Control::Continue;
    }
    match mode {
        ShutdownMode::Immediate | ShutdownMode::Graceful => Control::Shutdown,
        ShutdownMode::Invalid => {
            ctx.out.put_slice(b"CLIENT_ERROR invalid shutdown mode\r\n");
            Control::Continue
        }
    }
}

pub(crate) fn cache_memlimit(request: CacheMemlimit, ctx: &mut Ctx<'_>) -> Control {
    let line: &[u8] = if request.megabytes < 8 {
        b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
    } else if request.megabytes > 1_000_000_000 {
        b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"
    } else if (request.megabytes as usize)
        .checked_mul(1024 * 1024)
        .is_some_and(|bytes| ctx.store.set_max_bytes(bytes))
    {
        b"OK\r\n"
    } else {
        b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n"
    };
    ctx.reply(request.noreply, line);
    Control::Continue
}

/// `refresh_certs`: read the TLS certificate and key again (memcached's answers).
pub(crate) fn refresh_certs(ctx: &mut Ctx<'_>) -> Control {
    match &ctx.env.tls {
        None => ctx.out.put_slice(b"Error TLS not enabled\r\n"),
        Some(tls) => match tls.reload() {
            Ok(()) => {
                ctx.env
                    .conn_stats
                    .ssl_cert_loaded_at
                    .store(u64::from(ctx.now), std::sync::atomic::Ordering::Relaxed);
                ctx.out.put_slice(b"OK\r\n");
            }
            Err(e) => {
                ctx.out.put_slice(e.to_string().as_bytes());
                ctx.out.put_slice(b"\r\n");
            }
        },
    }
    Control::Continue
}
