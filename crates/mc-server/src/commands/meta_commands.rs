//! The meta commands: `mg`, `ms`, `md`, `ma`, `me`.

use base64::Engine as _;
use bytes::BytesMut;
use mc_proto::meta::{
    encode_meta_debug, MetaArithmetic, MetaDebug, MetaDebugInfo, MetaDelete, MetaFlag, MetaGet,
    MetaReply, MetaSet, MetaStatus,
};
use mc_proto::{ArithmeticOp, MetaFlags, Response, ServerMessage};

use super::{Control, Ctx};
use crate::storage::{
    Access, ArithStatus, DeleteStatus, Item, StoreStatus, Write, STALE, TOKEN_SENT,
};

/// The flags every meta answer echoes: the opaque and the key.
fn echo_flags(reply: &mut MetaReply<'_>, key: &[u8], flags: &MetaFlags) {
    for flag in flags.iter() {
        match flag.flag {
            b'O' => reply.token(b'O', flag.arg),
            b'k' => reply.key(key, flags.options().base64_key),
            _ => {}
        }
    }
}

/// A status line with only the echoed flags: `EN`, `NF`, `EX`, `HD`.
fn answer(out: &mut BytesMut, status: MetaStatus, key: &[u8], flags: &MetaFlags) {
    let mut reply = MetaReply::start(out, status);
    echo_flags(&mut reply, key, flags);
    reply.end();
}

/// The start of a hit: `VA <len>` when the value follows, `HD` otherwise.
fn start_hit(out: &mut BytesMut, with_value: bool, len: usize) -> MetaReply<'_> {
    if with_value {
        MetaReply::value(out, len)
    } else {
        MetaReply::start(out, MetaStatus::Header)
    }
}

/// The return flags `mg` and `ma` share (`c t O k`); false for any other letter, which the
/// caller handles or ignores.
fn item_flag(
    reply: &mut MetaReply<'_>,
    flag: MetaFlag<'_>,
    item: &Item<'_>,
    now: u32,
    flags: &MetaFlags,
) -> bool {
    match flag.flag {
        b'c' => reply.number(b'c', item.cas()),
        b't' => reply.number(b't', ttl_left(item.exptime(), now)),
        b'O' => reply.token(b'O', flag.arg),
        b'k' => reply.key(item.key(), flags.options().base64_key),
        _ => return false,
    }
    true
}

fn error(out: &mut BytesMut, message: ServerMessage) {
    Response::Message(message).encode(out);
}

/// Seconds left before expiry as meta flags print it: -1 for never.
fn ttl_left(exptime: u32, now: u32) -> i64 {
    if exptime == 0 {
        -1
    } else {
        i64::from(exptime) - i64::from(now)
    }
}

/// `mg`. Flags are applied in the order they are written, as memcached applies them: `T` and
/// `N` change the expiry where they stand, so `t` before `T` reports the lifetime the item had
/// before this request and `t` after it the new one, and `R` compares the expiry as it is at
/// that point.
pub(crate) fn get(request: MetaGet, ctx: &mut Ctx<'_>) -> Control {
    let options = *request.flags.options();
    let touch = options.ttl.map(|t| ctx.expiry(t));
    if touch.is_some() {
        ctx.counters.cmd_touch += 1;
    } else {
        ctx.counters.cmd_get += 1;
    }
    let access = Access {
        touch: None,
        bump: !options.no_lru_bump,
        count_get: touch.is_none(),
        count_touch: touch.is_some(),
    };
    let now = ctx.now;
    let store = ctx.store;
    // The command works on one item from start to end: its shard stays locked until the
    // answer is written, so no other write comes in between.
    let mut shard = store.for_key(&request.key);
    let found = shard
        .get(&request.key, now, access)
        .map(|item| (item.handle(), item.fetched(), item.last_access()));
    ctx.lookup = shard.last_lookup();
    ctx.observe_get(&request.key);
    let mut created = false;
    let found = match (found, options.vivify_ttl) {
        (Some(found), _) => Some(found),
        (None, Some(_)) => {
            created = true;
            // memcached creates the item without an expiry; `N` sets it where it stands.
            shard
                .vivify(&request.key, 0, now)
                .map(|handle| (handle, false, now))
        }
        (None, None) => None,
    };
    let Some((handle, fetched, last_access)) = found else {
        if !options.quiet {
            answer(ctx.out, MetaStatus::Miss, &request.key, &request.flags);
        }
        return Control::Continue;
    };
    // The handle is this command's own item: it cannot go stale before the command ends.
    let Some((state, mut exptime, value_len)) = shard
        .item(handle)
        .map(|item| (item.state(), item.exptime(), item.value().len()))
    else {
        return Control::Continue;
    };
    let recache_limit = options.recache_ttl.map(|r| ctx.expiry(r));
    let vivify_exptime = options.vivify_ttl.map(|t| ctx.expiry(t));
    // Lease logic: a vivified miss, a recache window or a stale item hands one client the
    // right to refill the item (W); others see Z until it is refilled.
    let mut won = false;
    let mut reply = start_hit(ctx.out, options.value, value_len);
    for flag in request.flags.iter() {
        match flag.flag {
            b'T' => {
                if let Some(touch) = touch {
                    exptime = touch;
                    shard.set_exptime(handle, exptime);
                }
            }
            b'N' if created => {
                if let Some(vivify) = vivify_exptime {
                    exptime = vivify;
                    shard.set_exptime(handle, exptime);
                }
                won = true;
            }
            b'R' => {
                won |= recache_limit.is_some_and(|limit| {
                    state & TOKEN_SENT == 0 && !created && exptime != 0 && exptime < limit
                });
            }
            _ => {
                let Some(item) = shard.item(handle) else {
                    continue;
                };
                if item_flag(&mut reply, flag, &item, now, &request.flags) {
                    continue;
                }
                match flag.flag {
                    b's' => reply.number(b's', value_len),
                    b'f' => reply.number(b'f', item.flags()),
                    b'l' => reply.number(b'l', now.saturating_sub(last_access)),
                    b'h' => reply.number(b'h', u8::from(fetched)),
                    _ => {}
                }
            }
        }
    }
    if state & TOKEN_SENT != 0 {
        reply.flag(b'Z');
    }
    if state & STALE != 0 {
        reply.flag(b'X');
        won |= state & TOKEN_SENT == 0;
    }
    if won {
        reply.flag(b'W');
        shard.mark(handle, TOKEN_SENT);
    }
    if options.value {
        reply.end_with_data(shard.item(handle).map_or(&[][..], |item| item.value()));
    } else {
        reply.end();
    }
    Control::Continue
}

pub(crate) fn set(request: MetaSet, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_set += 1;
    let options = *request.flags.options();
    let exptime = options.ttl.map_or(0, |t| ctx.expiry(t));
    let command = request.command();
    let write = Write {
        flags: options.client_flags.unwrap_or(0),
        exptime,
        cas: options.compare_cas.unwrap_or(0),
        invalidate: options.invalidate,
        ..Write::new(command, &request.key, &request.data)
    };
    let now = ctx.now;
    let status = ctx.on_key(&request.key, |store| store.store(&write, now));
    ctx.observe_store(&write, status);
    let (status, cas) = match status {
        StoreStatus::Stored(cas) => (MetaStatus::Header, cas),
        StoreStatus::NotStored => (MetaStatus::NotStored, 0),
        StoreStatus::Exists => (MetaStatus::Exists, 0),
        StoreStatus::NotFound => (MetaStatus::NotFound, 0),
        StoreStatus::TooLarge => {
            error(ctx.out, ServerMessage::ObjectTooLarge);
            return Control::Continue;
        }
        StoreStatus::NoMemory => {
            error(ctx.out, ServerMessage::OutOfMemoryStoring);
            return Control::Continue;
        }
    };
    // Quiet mode hides only the nominal answer.
    if options.quiet && status == MetaStatus::Header {
        return Control::Continue;
    }
    let mut reply = MetaReply::start(ctx.out, status);
    for flag in request.flags.iter() {
        match flag.flag {
            b'O' => reply.token(b'O', flag.arg),
            b'k' => reply.key(&request.key, options.base64_key),
            b'c' => reply.number(b'c', cas),
            _ => {}
        }
    }
    reply.end();
    Control::Continue
}

pub(crate) fn delete(request: MetaDelete, ctx: &mut Ctx<'_>) -> Control {
    let options = *request.flags.options();
    let now = ctx.now;
    let exptime = options.ttl.map(|t| ctx.expiry(t));
    let status = ctx.on_key(&request.key, |store| {
        if options.invalidate {
            store.invalidate(&request.key, options.compare_cas, exptime, now)
        } else {
            store.delete(&request.key, options.compare_cas, now)
        }
    });
    ctx.observe_delete(&request.key);
    let status = match status {
        DeleteStatus::Deleted if options.quiet => return Control::Continue,
        DeleteStatus::Deleted => MetaStatus::Header,
        DeleteStatus::NotFound => MetaStatus::NotFound,
        DeleteStatus::Exists => MetaStatus::Exists,
    };
    answer(ctx.out, status, &request.key, &request.flags);
    Control::Continue
}

pub(crate) fn arithmetic(request: MetaArithmetic, ctx: &mut Ctx<'_>) -> Control {
    let options = *request.flags.options();
    let incr = request.op() == ArithmeticOp::Incr;
    let now = ctx.now;
    let store = ctx.store;
    // One item from start to end: its shard stays locked until the answer is written.
    let mut shard = store.for_key(&request.key);
    let status = shard.arithmetic(
        &request.key,
        incr,
        request.delta(),
        options.compare_cas,
        now,
    );
    ctx.lookup = shard.last_lookup();
    ctx.observe_lookup(&request.key);
    let (handle, value, created) = match status {
        ArithStatus::Done { value, item, .. } => (item, value, false),
        ArithStatus::NotFound if options.vivify_ttl.is_some() => {
            let exptime = options.vivify_ttl.map_or(0, |t| ctx.expiry(t));
            let initial = options.initial.unwrap_or(0);
            match shard.add_counter(&request.key, initial, exptime, now) {
                Some((handle, _)) => (handle, initial, true),
                None => {
                    error(ctx.out, ServerMessage::OutOfMemoryAllocatingItem);
                    return Control::Continue;
                }
            }
        }
        ArithStatus::NotFound | ArithStatus::Exists => {
            let status = if status == ArithStatus::NotFound {
                MetaStatus::NotFound
            } else {
                MetaStatus::Exists
            };
            answer(ctx.out, status, &request.key, &request.flags);
            return Control::Continue;
        }
        ArithStatus::NonNumeric => {
            error(ctx.out, ServerMessage::NonNumericValue);
            return Control::Continue;
        }
        ArithStatus::NoMemory => {
            error(ctx.out, ServerMessage::OutOfMemory);
            return Control::Continue;
        }
    };
    if let (Some(ttl), false) = (options.ttl, created) {
        let exptime = ctx.expiry(ttl);
        shard.set_exptime(handle, exptime);
    }
    if options.quiet && !created {
        return Control::Continue;
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value).as_bytes();
    let Some(item) = shard.item(handle) else {
        return Control::Continue;
    };
    let mut reply = start_hit(ctx.out, options.value, digits.len());
    for flag in request.flags.iter() {
        item_flag(&mut reply, flag, &item, now, &request.flags);
    }
    if options.value {
        reply.end_with_data(digits);
    } else {
        reply.end();
    }
    Control::Continue
}

pub(crate) fn debug(request: MetaDebug, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_meta += 1;
    let now = ctx.now;
    let mut shard = ctx.store.for_key(&request.key);
    let Some(item) = shard.peek(&request.key, now) else {
        MetaReply::start(ctx.out, MetaStatus::Miss).end();
        return Control::Continue;
    };
    // memcached prints `now - exptime`, a negative number for items that have not expired.
    let exp = if item.exptime() == 0 {
        -1
    } else {
        i64::from(now) - i64::from(item.exptime())
    };
    let info = MetaDebugInfo {
        exp,
        last_access: now.saturating_sub(item.atime()),
        cas: item.cas(),
        fetched: item.fetched(),
        class: item.class() + 1,
        size: item.size(),
    };
    if request.base64_key {
        let key = base64::engine::general_purpose::STANDARD.encode(item.key());
        encode_meta_debug(ctx.out, key.as_bytes(), &info);
    } else {
        encode_meta_debug(ctx.out, item.key(), &info);
    }
    Control::Continue
}
