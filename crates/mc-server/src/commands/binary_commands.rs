//! The binary protocol's commands, with memcached 1.6.18's answers: the same store and
//! counters as the text commands, binary framing, quiet variants that answer only errors
//! (and, for the gets, hits), and SASL PLAIN when `-S` asks for authentication.

use bytes::Bytes;
use mc_proto::binary::{
    encode_error, encode_response, BinaryCommand, BinaryReject, BinaryRequest, Header, Status,
    SASL_AUTHENTICATED, SASL_MECHANISMS,
};
use mc_proto::{Response, ResponseDecoder, StoreCommand};

use super::admin::PROTOCOL_VERSION;
use super::{stats, Control, Ctx, Progress};
use crate::config::Auth;
use crate::server_counters::ConnectionStats;
use crate::storage::{Access, ArithStatus, DeleteStatus, StoreStatus, Write};

/// `exptime` of an arithmetic request that must not create a missing counter.
const NO_VIVIFY: u32 = 0xffff_ffff;

fn ok(ctx: &mut Ctx<'_>, header: &Header, cas: u64, extras: &[u8], key: &[u8], value: &[u8]) {
    encode_response(ctx.out, header, Status::Success, cas, extras, key, value);
}

fn error(ctx: &mut Ctx<'_>, header: &Header, status: Status) {
    encode_error(ctx.out, header, status);
}

/// Answer with `status` and a message of our own.
fn error_text(ctx: &mut Ctx<'_>, header: &Header, status: Status, text: &str) {
    encode_response(ctx.out, header, status, 0, &[], &[], text.as_bytes());
}

/// Run one binary request.
pub(crate) fn execute(request: BinaryRequest, ctx: &mut Ctx<'_>) -> Control {
    ctx.budget.spend(1);
    let BinaryRequest { header, command } = request;
    let h = &header;
    if matches!(ctx.env.config.auth, Auth::Sasl { .. })
        && !ctx.client.authenticated
        && !matches!(
            command,
            BinaryCommand::SaslListMechs
                | BinaryCommand::SaslAuth { .. }
                | BinaryCommand::SaslStep { .. }
                | BinaryCommand::Version
        )
    {
        error(ctx, h, Status::AuthError);
        return Control::Close;
    }
    match command {
        BinaryCommand::Get {
            key,
            quiet,
            with_key,
        } => get(ctx, h, &key, None, quiet, with_key),
        BinaryCommand::GetAndTouch {
            key,
            exptime,
            quiet,
            with_key,
        } => get(ctx, h, &key, Some(exptime), quiet, with_key),
        BinaryCommand::Touch { key, exptime } => touch(ctx, h, &key, exptime),
        BinaryCommand::Store {
            command,
            key,
            flags,
            exptime,
            cas,
            value,
            quiet,
        } => store(ctx, h, command, &key, flags, exptime, cas, &value, quiet),
        BinaryCommand::Delete { key, cas, quiet } => delete(ctx, h, &key, cas, quiet),
        BinaryCommand::Arithmetic {
            incr,
            key,
            delta,
            initial,
            exptime,
            cas,
            quiet,
        } => arithmetic(ctx, h, incr, &key, delta, initial, exptime, cas, quiet),
        BinaryCommand::Quit { quiet } => {
            if !quiet {
                ok(ctx, h, 0, &[], &[], &[]);
            }
            return Control::Close;
        }
        BinaryCommand::Flush { delay, quiet } => flush(ctx, h, delay, quiet),
        BinaryCommand::Noop => ok(ctx, h, 0, &[], &[], &[]),
        BinaryCommand::Version => ok(ctx, h, 0, &[], &[], PROTOCOL_VERSION.as_bytes()),
        BinaryCommand::Stat { group } => stat(ctx, h, &group),
        BinaryCommand::SaslListMechs => {
            if sasl_enabled(ctx) {
                ok(ctx, h, 0, &[], &[], SASL_MECHANISMS);
            } else {
                error(ctx, h, Status::UnknownCommand);
            }
        }
        BinaryCommand::SaslAuth { mechanism, data } => sasl_auth(ctx, h, &mechanism, &data),
        BinaryCommand::SaslStep { .. } => {
            if sasl_enabled(ctx) {
                // PLAIN completes in its first message: there is no step to take.
                sasl_failed(ctx, h);
            } else {
                error(ctx, h, Status::UnknownCommand);
            }
        }
    }
    Control::Continue
}

/// Answer a request the decoder refused.
pub(crate) fn reject(reject: BinaryReject, ctx: &mut Ctx<'_>) -> Control {
    ctx.budget.spend(1);
    let Some(status) = reject.status else {
        return Control::Close;
    };
    if let Some(key) = &reject.stale_key {
        // memcached drops the old value of a key whose new value was refused.
        ctx.store.for_key(key).discard(key, ctx.now);
    }
    error(ctx, &reject.header, status);
    if reject.close {
        Control::Close
    } else {
        Control::Continue
    }
}

fn sasl_enabled(ctx: &Ctx<'_>) -> bool {
    matches!(ctx.env.config.auth, Auth::Sasl { .. })
}

fn sasl_failed(ctx: &mut Ctx<'_>, h: &Header) {
    let stats = &ctx.env.conn_stats;
    ConnectionStats::add(&stats.auth_cmds, 1);
    ConnectionStats::add(&stats.auth_errors, 1);
    error(ctx, h, Status::AuthError);
}

/// SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL password`.
fn sasl_auth(ctx: &mut Ctx<'_>, h: &Header, mechanism: &[u8], data: &[u8]) {
    if !sasl_enabled(ctx) {
        error(ctx, h, Status::UnknownCommand);
        return;
    }
    if mechanism != SASL_MECHANISMS {
        sasl_failed(ctx, h);
        return;
    }
    let mut parts = data.split(|&b| b == 0);
    let (Some(_authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        sasl_failed(ctx, h);
        return;
    };
    if ctx.env.credentials.check(user, password) {
        ctx.client.authenticated = true;
        ConnectionStats::add(&ctx.env.conn_stats.auth_cmds, 1);
        ok(ctx, h, 0, &[], &[], SASL_AUTHENTICATED);
    } else {
        sasl_failed(ctx, h);
    }
}

fn expiry(ctx: &Ctx<'_>, exptime: u32) -> u32 {
    ctx.env.clock.expiry_unsigned(exptime, ctx.now)
}

fn get(ctx: &mut Ctx<'_>, h: &Header, key: &[u8], touch: Option<u32>, quiet: bool, with_key: bool) {
    let touches = touch.is_some();
    if touches {
        ctx.counters.cmd_touch += 1;
    } else {
        ctx.counters.cmd_get += 1;
    }
    let access = Access {
        touch: touch.map(|t| expiry(ctx, t)),
        bump: true,
        count_get: !touches,
        count_touch: touches,
    };
    let now = ctx.now;
    let found = ctx.on_key(key, |store| {
        store.get(key, now, access).map(|item| {
            (
                item.flags(),
                item.cas(),
                Bytes::copy_from_slice(item.value()),
            )
        })
    });
    ctx.observe_get(key);
    match found {
        Some((flags, cas, value)) => {
            let shown_key: &[u8] = if with_key { key } else { &[] };
            ok(ctx, h, cas, &flags.to_be_bytes(), shown_key, &value);
        }
        None if quiet => {}
        // GETK answers a miss with the key, and no message.
        None if with_key => encode_response(ctx.out, h, Status::KeyNotFound, 0, &[], key, &[]),
        None => error(ctx, h, Status::KeyNotFound),
    }
}

fn touch(ctx: &mut Ctx<'_>, h: &Header, key: &[u8], exptime: u32) {
    ctx.counters.cmd_touch += 1;
    let access = Access {
        touch: Some(expiry(ctx, exptime)),
        bump: true,
        count_get: false,
        count_touch: true,
    };
    let now = ctx.now;
    let found = ctx.on_key(key, |store| {
        store
            .get(key, now, access)
            .map(|item| (item.flags(), item.cas()))
    });
    ctx.observe_lookup(key);
    match found {
        Some((flags, cas)) => ok(ctx, h, cas, &flags.to_be_bytes(), &[], &[]),
        None => error(ctx, h, Status::KeyNotFound),
    }
}

#[allow(clippy::too_many_arguments)]
fn store(
    ctx: &mut Ctx<'_>,
    h: &Header,
    command: StoreCommand,
    key: &[u8],
    flags: u32,
    exptime: u32,
    cas: u64,
    value: &[u8],
    quiet: bool,
) {
    ctx.counters.cmd_set += 1;
    // A CAS unique turns any of set, add and replace into a compare-and-swap.
    let effective = match command {
        StoreCommand::Set | StoreCommand::Add | StoreCommand::Replace if cas != 0 => {
            StoreCommand::Cas
        }
        other => other,
    };
    let exptime = expiry(ctx, exptime);
    let write = Write {
        flags,
        exptime,
        cas,
        ..Write::new(effective, key, value)
    };
    let now = ctx.now;
    let status = ctx.on_key(key, |store| store.store(&write, now));
    ctx.observe_store(&write, status);
    match status {
        StoreStatus::Stored(_) if quiet => {}
        StoreStatus::Stored(cas) => ok(ctx, h, cas, &[], &[], &[]),
        StoreStatus::Exists => error(ctx, h, Status::KeyExists),
        StoreStatus::NotFound => error(ctx, h, Status::KeyNotFound),
        StoreStatus::NoMemory => {
            error_text(ctx, h, Status::OutOfMemory, "Out of memory allocating item")
        }
        StoreStatus::NotStored | StoreStatus::TooLarge => {
            let status = match command {
                StoreCommand::Add => Status::KeyExists,
                StoreCommand::Replace => Status::KeyNotFound,
                _ => Status::NotStored,
            };
            error(ctx, h, status);
        }
    }
}

fn delete(ctx: &mut Ctx<'_>, h: &Header, key: &[u8], cas: u64, quiet: bool) {
    let now = ctx.now;
    let status = ctx.on_key(key, |store| {
        store.delete(key, (cas != 0).then_some(cas), now)
    });
    ctx.observe_delete(key);
    match status {
        DeleteStatus::Deleted if quiet => {}
        DeleteStatus::Deleted => ok(ctx, h, 0, &[], &[], &[]),
        DeleteStatus::NotFound => error(ctx, h, Status::KeyNotFound),
        DeleteStatus::Exists => error(ctx, h, Status::KeyExists),
    }
}

#[allow(clippy::too_many_arguments)]
fn arithmetic(
    ctx: &mut Ctx<'_>,
    h: &Header,
    incr: bool,
    key: &[u8],
    delta: u64,
    initial: u64,
    exptime: u32,
    cas: u64,
    quiet: bool,
) {
    let now = ctx.now;
    let vivify = (exptime != NO_VIVIFY).then(|| expiry(ctx, exptime));
    // The counter is created in the same hold of its shard that found it missing, so no other
    // connection's write comes in between.
    let (status, created) = ctx.on_key(key, |store| {
        let status = store.arithmetic(key, incr, delta, (cas != 0).then_some(cas), now);
        let created = match (status, vivify) {
            (ArithStatus::NotFound, Some(exptime)) => Some(
                store
                    .add_counter(key, initial, exptime, now)
                    .map(|(_, cas)| if store.config().cas { cas } else { 0 }),
            ),
            _ => None,
        };
        (status, created)
    });
    ctx.observe_lookup(key);
    match status {
        ArithStatus::Done { .. } if quiet => {}
        ArithStatus::Done { value, cas, .. } => ok(ctx, h, cas, &[], &[], &value.to_be_bytes()),
        ArithStatus::NotFound if vivify.is_some() => match created.flatten() {
            Some(_) if quiet => {}
            Some(cas) => ok(ctx, h, cas, &[], &[], &initial.to_be_bytes()),
            None => error(ctx, h, Status::NotStored),
        },
        ArithStatus::NotFound => error(ctx, h, Status::KeyNotFound),
        ArithStatus::NonNumeric => error(ctx, h, Status::NonNumeric),
        ArithStatus::Exists => error(ctx, h, Status::KeyExists),
        ArithStatus::NoMemory => error_text(
            ctx,
            h,
            Status::OutOfMemory,
            "Out of memory incrementing value",
        ),
    }
}

fn flush(ctx: &mut Ctx<'_>, h: &Header, delay: Option<u32>, quiet: bool) {
    if !ctx.env.config.flush_enabled {
        // memcached's answer to a refused binary flush.
        error(ctx, h, Status::AuthError);
        return;
    }
    ctx.counters.cmd_flush += 1;
    let at = match delay {
        Some(delay) if delay > 0 => Some(expiry(ctx, delay)),
        _ => None,
    };
    ctx.store.flush(at, ctx.now);
    if !quiet {
        ok(ctx, h, 0, &[], &[], &[]);
    }
}

/// `STAT`: the same families as the text `stats`, each `STAT name value` line sent as a
/// response whose key is the name and value the value, ended by an empty response.
fn stat(ctx: &mut Ctx<'_>, h: &Header, group: &[u8]) {
    let words: Vec<Bytes> = group
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .map(Bytes::copy_from_slice)
        .collect();
    let known = matches!(
        words.first().map(|w| &w[..]),
        None | Some(
            b"reset"
                | b"settings"
                | b"items"
                | b"slabs"
                | b"sizes"
                | b"sizes_enable"
                | b"sizes_disable"
                | b"detail"
        )
    );
    if !known {
        error(ctx, h, Status::KeyNotFound);
        return;
    }
    let detail = words.first().is_some_and(|w| &w[..] == b"detail");
    if detail && !matches!(words.get(1).map(|w| &w[..]), Some(b"on" | b"off" | b"dump")) {
        error(ctx, h, Status::KeyNotFound);
        return;
    }
    // Produce the text answer whole into a scratch buffer (binary stats are not answered in
    // slices; the longest, a detail dump, is bounded by its prefix table), then re-frame it.
    let saved = std::mem::take(&mut *ctx.out);
    let mut progress = stats::stats(mc_proto::Stats { args: words }, ctx);
    while let Progress::Paused(paused) = progress {
        progress = super::resume(paused, ctx);
    }
    let text = std::mem::replace(&mut *ctx.out, saved);
    let stat_header = Header {
        opcode: mc_proto::binary::opcode::STAT,
        ..*h
    };
    if detail {
        if words_is(group, b"detail dump") {
            // memcached sends the whole dump as one stat named "detailed".
            let dump = text.strip_suffix(b"END\r\n").unwrap_or(&text).to_vec();
            ok(ctx, &stat_header, 0, &[], b"detailed", &dump);
        }
        ok(ctx, &stat_header, 0, &[], &[], &[]);
        return;
    }
    let mut text = text;
    let mut decoder = ResponseDecoder::new(0);
    while let Ok(Some(response)) = decoder.decode(&mut text) {
        if let Response::Stat { name, value } = response {
            ok(ctx, &stat_header, 0, &[], &name, &value);
        }
    }
    ok(ctx, &stat_header, 0, &[], &[], &[]);
}

fn words_is(group: &[u8], expected: &[u8]) -> bool {
    let words: Vec<&[u8]> = group
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
        .collect();
    let expected: Vec<&[u8]> = expected.split(|&b| b == b' ').collect();
    words == expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_words() {
        assert!(words_is(b"detail  dump", b"detail dump"));
        assert!(!words_is(b"detail on", b"detail dump"));
    }
}
