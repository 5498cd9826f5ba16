//! The meta commands: `mg`, `ms`, `md`, `ma`, `me`.

use base64::Engine as _;
use bytes::{BufMut, BytesMut};
use mc_proto::meta::MetaFlag;
use mc_proto::meta::{MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaSet};
use mc_proto::{ArithmeticOp, MetaFlags};

use super::{Control, Ctx};
use crate::storage::{
    Access, ArithStatus, DeleteStatus, Item, StoreStatus, Write, STALE, TOKEN_SENT,
};

fn put_number(out: &mut BytesMut, n: impl itoa::Integer) {
    let mut buf = itoa::Buffer::new();
    out.put_slice(buf.format(n).as_bytes());
}

/// ` k<key>`, base64 encoded (and followed by ` b`) when the request used a binary key.
fn put_key_flag(out: &mut BytesMut, key: &[u8], flags: &MetaFlags) {
    out.put_slice(b" k");
    if flags.options().base64_key {
        out.put_slice(
            base64::engine::general_purpose::STANDARD
                .encode(key)
                .as_bytes(),
        );
        out.put_slice(b" b");
    } else {
        out.put_slice(key);
    }
}

/// The flags every meta answer echoes: the opaque and the key.
fn put_echo_flags(out: &mut BytesMut, key: &[u8], flags: &MetaFlags) {
    for flag in flags.iter() {
        match flag.flag {
            b'O' => {
                out.put_u8(b' ');
                out.put_u8(b'O');
                out.put_slice(flag.arg);
            }
            b'k' => put_key_flag(out, key, flags),
            _ => {}
        }
    }
}

/// The status word of a hit: `VA <len>` when the value follows, `HD` otherwise.
fn put_status(out: &mut BytesMut, with_value: bool, len: usize) {
    if with_value {
        out.put_slice(b"VA ");
        put_number(out, len);
    } else {
        out.put_slice(b"HD");
    }
}

/// The return flags `mg` and `ma` share (`c t O k`); false for any other letter, which the
/// caller handles or ignores.
fn put_item_flag(
    out: &mut BytesMut,
    flag: MetaFlag<'_>,
    item: &Item<'_>,
    now: u32,
    flags: &MetaFlags,
) -> bool {
    match flag.flag {
        b'c' => {
            out.put_slice(b" c");
            put_number(out, item.cas());
        }
        b't' => {
            out.put_slice(b" t");
            put_number(out, ttl_left(item.exptime(), now));
        }
        b'O' => {
            out.put_slice(b" O");
            out.put_slice(flag.arg);
        }
        b'k' => put_key_flag(out, item.key(), flags),
        _ => return false,
    }
    true
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
    let found = ctx
        .store
        .get(&request.key, now, access)
        .map(|item| (item.id(), item.fetched(), item.last_access()));
    ctx.observe_get(&request.key);
    let mut created = false;
    let found = match (found, options.vivify_ttl) {
        (Some(found), _) => Some(found),
        (None, Some(_)) => {
            created = true;
            // memcached creates the item without an expiry; `N` sets it where it stands.
            ctx.store
                .vivify(&request.key, 0, now)
                .map(|id| (id, false, now))
        }
        (None, None) => None,
    };
    let Some((id, fetched, last_access)) = found else {
        if !options.quiet {
            ctx.out.put_slice(b"EN");
            put_echo_flags(ctx.out, &request.key, &request.flags);
            ctx.out.put_slice(b"\r\n");
        }
        return Control::Continue;
    };
    let (state, mut exptime) = {
        let item = ctx.store.item_by_id(id);
        (item.state(), item.exptime())
    };
    let recache_limit = options.recache_ttl.map(|r| ctx.expiry(r));
    let vivify_exptime = options.vivify_ttl.map(|t| ctx.expiry(t));
    // Lease logic: a vivified miss, a recache window or a stale item hands one client the
    // right to refill the item (W); others see Z until it is refilled.
    let mut won = false;
    let value_len = ctx.store.item_by_id(id).value().len();
    put_status(ctx.out, options.value, value_len);
    let flags_out = &mut *ctx.out;
    for flag in request.flags.iter() {
        match flag.flag {
            b'T' => {
                if let Some(touch) = touch {
                    exptime = touch;
                    ctx.store.set_exptime(id, exptime);
                }
            }
            b'N' if created => {
                if let Some(vivify) = vivify_exptime {
                    exptime = vivify;
                    ctx.store.set_exptime(id, exptime);
                }
                won = true;
            }
            b'R' => {
                won |= recache_limit.is_some_and(|limit| {
                    state & TOKEN_SENT == 0 && !created && exptime != 0 && exptime < limit
                });
            }
            _ => {
                let item = ctx.store.item_by_id(id);
                if put_item_flag(flags_out, flag, &item, now, &request.flags) {
                    continue;
                }
                match flag.flag {
                    b's' => {
                        flags_out.put_slice(b" s");
                        put_number(flags_out, value_len);
                    }
                    b'f' => {
                        flags_out.put_slice(b" f");
                        put_number(flags_out, item.flags());
                    }
                    b'l' => {
                        flags_out.put_slice(b" l");
                        put_number(flags_out, now.saturating_sub(last_access));
                    }
                    b'h' => flags_out.put_slice(if fetched { b" h1" } else { b" h0" }),
                    _ => {}
                }
            }
        }
    }
    if state & TOKEN_SENT != 0 {
        flags_out.put_slice(b" Z");
    }
    if state & STALE != 0 {
        flags_out.put_slice(b" X");
        won |= state & TOKEN_SENT == 0;
    }
    if won {
        flags_out.put_slice(b" W");
        ctx.store.mark(id, TOKEN_SENT);
    }
    flags_out.put_slice(b"\r\n");
    if options.value {
        let item = ctx.store.item_by_id(id);
        flags_out.put_slice(item.value());
        flags_out.put_slice(b"\r\n");
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
    let status = ctx.store.store(&write, ctx.now);
    ctx.observe_store(&request.key, command, status, exptime, request.data.len());
    let (code, cas): (&[u8], u64) = match status {
        StoreStatus::Stored(cas) => (b"HD", cas),
        StoreStatus::NotStored => (b"NS", 0),
        StoreStatus::Exists => (b"EX", 0),
        StoreStatus::NotFound => (b"NF", 0),
        StoreStatus::TooLarge => {
            ctx.out
                .put_slice(b"SERVER_ERROR object too large for cache\r\n");
            return Control::Continue;
        }
        StoreStatus::NoMemory => {
            ctx.out
                .put_slice(b"SERVER_ERROR out of memory storing object\r\n");
            return Control::Continue;
        }
    };
    // Quiet mode hides only the nominal answer.
    if options.quiet && code == b"HD" {
        return Control::Continue;
    }
    ctx.out.put_slice(code);
    for flag in request.flags.iter() {
        match flag.flag {
            b'O' => {
                ctx.out.put_slice(b" O");
                ctx.out.put_slice(flag.arg);
            }
            b'k' => put_key_flag(ctx.out, &request.key, &request.flags),
            b'c' => {
                ctx.out.put_slice(b" c");
                put_number(ctx.out, cas);
            }
            _ => {}
        }
    }
    ctx.out.put_slice(b"\r\n");
    Control::Continue
}

pub(crate) fn delete(request: MetaDelete, ctx: &mut Ctx<'_>) -> Control {
    let options = *request.flags.options();
    let status = if options.invalidate {
        let exptime = options.ttl.map(|t| ctx.expiry(t));
        ctx.store
            .invalidate(&request.key, options.compare_cas, exptime, ctx.now)
    } else {
        ctx.store.delete(&request.key, options.compare_cas, ctx.now)
    };
    ctx.observe_delete(&request.key);
    let code: &[u8] = match status {
        DeleteStatus::Deleted if options.quiet => return Control::Continue,
        DeleteStatus::Deleted => b"HD",
        DeleteStatus::NotFound => b"NF",
        DeleteStatus::Exists => b"EX",
    };
    ctx.out.put_slice(code);
    put_echo_flags(ctx.out, &request.key, &request.flags);
    ctx.out.put_slice(b"\r\n");
    Control::Continue
}

pub(crate) fn arithmetic(request: MetaArithmetic, ctx: &mut Ctx<'_>) -> Control {
    let options = *request.flags.options();
    let incr = request.op() == ArithmeticOp::Incr;
    let now = ctx.now;
    let status = ctx.store.arithmetic(
        &request.key,
        incr,
        request.delta(),
        options.compare_cas,
        now,
    );
    ctx.observe_lookup(&request.key);
    let (id, value, created) = match status {
        ArithStatus::Done { value, id, .. } => (id, value, false),
        ArithStatus::NotFound if options.vivify_ttl.is_some() => {
            let exptime = options.vivify_ttl.map_or(0, |t| ctx.expiry(t));
            let initial = options.initial.unwrap_or(0);
            match ctx.store.add_counter(&request.key, initial, exptime, now) {
                Some((id, _)) => (id, initial, true),
                None => {
                    ctx.out
                        .put_slice(b"SERVER_ERROR Out of memory allocating new item\r\n");
                    return Control::Continue;
                }
            }
        }
        ArithStatus::NotFound | ArithStatus::Exists => {
            let code: &[u8] = if status == ArithStatus::NotFound {
                b"NF"
            } else {
                b"EX"
            };
            ctx.out.put_slice(code);
            put_echo_flags(ctx.out, &request.key, &request.flags);
            ctx.out.put_slice(b"\r\n");
            return Control::Continue;
        }
        ArithStatus::NonNumeric => {
            ctx.out
                .put_slice(b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
            return Control::Continue;
        }
        ArithStatus::NoMemory => {
            ctx.out.put_slice(b"SERVER_ERROR out of memory\r\n");
            return Control::Continue;
        }
    };
    if let (Some(ttl), false) = (options.ttl, created) {
        let exptime = ctx.expiry(ttl);
        ctx.store.set_exptime(id, exptime);
    }
    if options.quiet && !created {
        return Control::Continue;
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(value).as_bytes();
    let item = ctx.store.item_by_id(id);
    let out = &mut *ctx.out;
    put_status(out, options.value, digits.len());
    for flag in request.flags.iter() {
        put_item_flag(out, flag, &item, now, &request.flags);
    }
    out.put_slice(b"\r\n");
    if options.value {
        out.put_slice(digits);
        out.put_slice(b"\r\n");
    }
    Control::Continue
}

pub(crate) fn debug(request: MetaDebug, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_meta += 1;
    let now = ctx.now;
    let Some(item) = ctx.store.peek(&request.key, now) else {
        ctx.out.put_slice(b"EN\r\n");
        return Control::Continue;
    };
    let out = &mut *ctx.out;
    out.put_slice(b"ME ");
    if request.base64_key {
        out.put_slice(
            base64::engine::general_purpose::STANDARD
                .encode(item.key())
                .as_bytes(),
        );
    } else {
        out.put_slice(item.key());
    }
    // memcached prints `now - exptime`, a negative number for items that have not expired.
    let exp = if item.exptime() == 0 {
        -1
    } else {
        i64::from(now) - i64::from(item.exptime())
    };
    use std::fmt::Write as _;
    let _ = write!(
        out,
        " exp={exp} la={} cas={} fetch={} cls={} size={}\r\n",
        now.saturating_sub(item.atime()),
        item.cas(),
        if item.fetched() { "yes" } else { "no" },
        item.class() + 1,
        item.size()
    );
    Control::Continue
}
