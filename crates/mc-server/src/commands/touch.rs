//! `touch`.

use mc_proto::Touch;

use super::{Control, Ctx};

pub(crate) fn touch(request: Touch, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_touch += 1;
    let exptime = ctx.expiry(request.exptime);
    let touched = ctx.store.touch(&request.key, exptime, ctx.now);
    ctx.observe_lookup(&request.key);
    let line: &[u8] = if touched {
        b"TOUCHED\r\n"
    } else {
        b"NOT_FOUND\r\n"
    };
    ctx.reply(request.noreply, line);
    Control::Continue
}
