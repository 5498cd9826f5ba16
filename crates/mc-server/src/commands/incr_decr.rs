//! `incr`, `decr`.

use mc_proto::{Arithmetic, ArithmeticOp, Response, ServerMessage};

use super::{Control, Ctx};
use crate::storage::ArithStatus;

pub(crate) fn arithmetic(request: Arithmetic, ctx: &mut Ctx<'_>) -> Control {
    let incr = request.op == ArithmeticOp::Incr;
    let now = ctx.now;
    let status = ctx.on_key(&request.key, |store| {
        store.arithmetic(&request.key, incr, request.delta, None, now)
    });
    ctx.observe_lookup(&request.key);
    if request.noreply {
        return Control::Continue;
    }
    ctx.answer(match status {
        ArithStatus::Done { value, .. } => Response::Number(value),
        ArithStatus::NotFound | ArithStatus::Exists => Response::NotFound,
        ArithStatus::NonNumeric => Response::Message(ServerMessage::NonNumericValue),
        ArithStatus::NoMemory => Response::Message(ServerMessage::OutOfMemory),
    });
    Control::Continue
}
