//! `incr`, `decr`.

use bytes::BufMut;
use mc_proto::{Arithmetic, ArithmeticOp};

use super::{Control, Ctx};
use crate::storage::ArithStatus;

pub(crate) fn arithmetic(request: Arithmetic, ctx: &mut Ctx<'_>) -> Control {
    let incr = request.op == ArithmeticOp::Incr;
    let status = ctx
        .store
        .arithmetic(&request.key, incr, request.delta, None, ctx.now);
    ctx.observe_lookup(&request.key);
    if request.noreply {
        return Control::Continue;
    }
    match status {
        ArithStatus::Done { value, .. } => {
            let mut digits = itoa::Buffer::new();
            ctx.out.put_slice(digits.format(value).as_bytes());
            ctx.out.put_slice(b"\r\n");
        }
        ArithStatus::NotFound | ArithStatus::Exists => ctx.out.put_slice(b"NOT_FOUND\r\n"),
        ArithStatus::NonNumeric => ctx
            .out
            .put_slice(b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
        ArithStatus::NoMemory => ctx.out.put_slice(b"SERVER_ERROR out of memory\r\n"),
    }
    Control::Continue
}
