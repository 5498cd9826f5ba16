//! `get`, `gets`, `gat`, `gats`.

use bytes::BufMut;
use mc_proto::{encode_value_header, Get};

use super::{Control, Ctx};
use crate::storage::Access;

pub(crate) fn get(request: Get, ctx: &mut Ctx<'_>) -> Control {
    let touch = request.command.touches();
    let access = Access {
        touch: touch.then(|| ctx.expiry(request.exptime)),
        bump: true,
        count_get: !touch,
        count_touch: touch,
    };
    let with_cas = request.command.returns_cas();
    for key in request.keys.slices() {
        if touch {
            ctx.counters.cmd_touch += 1;
        } else {
            ctx.counters.cmd_get += 1;
        }
        if let Some(item) = ctx.store.get(key, ctx.now, access) {
            let value = item.value();
            encode_value_header(
                ctx.out,
                key,
                item.flags(),
                value.len(),
                with_cas.then(|| item.cas()),
            );
            ctx.out.put_slice(value);
            ctx.out.put_slice(b"\r\n");
        }
    }
    ctx.out.put_slice(b"END\r\n");
    Control::Continue
}
