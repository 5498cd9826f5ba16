//! `touch`.

use mc_proto::{Response, Touch};

use super::{Control, Ctx};

pub(crate) fn touch(request: Touch, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_touch += 1;
    let exptime = ctx.expiry(request.exptime);
    let touched = ctx.store.touch(&request.key, exptime, ctx.now);
    ctx.observe_lookup(&request.key);
    let response = if touched {
        Response::Touched
    } else {
        Response::NotFound
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}
