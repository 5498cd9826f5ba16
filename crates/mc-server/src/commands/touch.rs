//! `touch`.

use mc_proto::{Response, Touch};

use super::{Control, Ctx};

pub(crate) fn touch(request: Touch, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_touch += 1;
    let exptime = ctx.expiry(request.exptime);
    let now = ctx.now;
    let touched = ctx.on_key(&request.key, |store| {
        store.touch(&request.key, exptime, now)
    });
    ctx.observe_lookup(&request.key);
    let response = if touched {
        Response::Touched
    } else {
        Response::NotFound
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}
