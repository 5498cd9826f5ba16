//! `flush_all`, `version`, `verbosity`, `shutdown`, `cache_memlimit`, `refresh_certs`.

use bytes::Bytes;
use mc_proto::{CacheMemlimit, FlushAll, Response, ServerMessage, ShutdownMode, Verbosity};

use super::{Control, Ctx};
use crate::runtime_settings::{RuntimeSettings, MAX_VERBOSITY};

/// The memcached version we answer with. Clients and tools (memccapable among them) read it to
/// pick protocol features, so it names the memcached release whose protocol we implement.
pub(crate) const PROTOCOL_VERSION: &str = "1.6.18";

pub(crate) fn flush_all(request: FlushAll, ctx: &mut Ctx<'_>) -> Control {
    // Counted even when refused, as memcached counts it.
    ctx.counters.cmd_flush += 1;
    if !ctx.env.config.flush_enabled {
        let refused = Response::Message(ServerMessage::FlushAllNotAllowed);
        ctx.reply(request.noreply, refused);
        return Control::Continue;
    }
    let at = match request.delay {
        Some(delay) if delay > 0 => Some(ctx.expiry(delay)),
        _ => None,
    };
    ctx.store.flush(at, ctx.now);
    ctx.reply(request.noreply, Response::Ok);
    Control::Continue
}

pub(crate) fn version(ctx: &mut Ctx<'_>) -> Control {
    ctx.answer(Response::Version(Bytes::from_static(
        PROTOCOL_VERSION.as_bytes(),
    )));
    Control::Continue
}

pub(crate) fn verbosity(request: Verbosity, ctx: &mut Ctx<'_>) -> Control {
    RuntimeSettings::set(&ctx.env.runtime.verbosity, request.level.min(MAX_VERBOSITY));
    ctx.reply(request.noreply, Response::Ok);
    Control::Continue
}

pub(crate) fn shutdown(mode: ShutdownMode, ctx: &mut Ctx<'_>) -> Control {
    if !ctx.env.config.enable_shutdown {
        ctx.message(ServerMessage::ShutdownNotEnabled);
        return Control::Continue;
    }
    match mode {
        ShutdownMode::Immediate => Control::Shutdown,
        // With `-e`, a graceful stop saves the cache for the next start.
        ShutdownMode::Graceful => {
            ctx.env
                .save_on_stop
                .store(true, std::sync::atomic::Ordering::Relaxed);
            Control::Shutdown
        }
        ShutdownMode::Invalid => {
            ctx.message(ServerMessage::InvalidShutdownMode);
            Control::Continue
        }
    }
}

pub(crate) fn cache_memlimit(request: CacheMemlimit, ctx: &mut Ctx<'_>) -> Control {
    let response = if request.megabytes < 8 {
        Response::Message(ServerMessage::MemlimitTooSmall)
    } else if request.megabytes > 1_000_000_000 {
        Response::Message(ServerMessage::MemlimitNotMegabytes)
    } else if (request.megabytes as usize)
        .checked_mul(1024 * 1024)
        .is_some_and(|bytes| ctx.store.set_max_bytes(bytes))
    {
        Response::Ok
    } else {
        Response::Message(ServerMessage::MemlimitAdjustFailed)
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}

/// `refresh_certs`: read the TLS certificate and key again (memcached's answers).
pub(crate) fn refresh_certs(ctx: &mut Ctx<'_>) -> Control {
    let response = match &ctx.env.tls {
        None => Response::Message(ServerMessage::TlsNotEnabled),
        Some(tls) => match tls.reload() {
            Ok(()) => {
                ctx.env
                    .conn_stats
                    .ssl_cert_loaded_at
                    .store(u64::from(ctx.now), std::sync::atomic::Ordering::Relaxed);
                Response::Ok
            }
            // memcached answers with the error's text as the whole line.
            Err(e) => Response::Line(Bytes::from(e.to_string())),
        },
    };
    ctx.answer(response);
    Control::Continue
}
