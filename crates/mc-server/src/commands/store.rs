//! `set`, `add`, `replace`, `append`, `prepend`, `cas`.

use mc_proto::{Response, ServerMessage, StoreRequest};

use super::{Control, Ctx};
use crate::storage::{StoreStatus, Write};

pub(crate) fn store(request: StoreRequest, ctx: &mut Ctx<'_>) -> Control {
    ctx.counters.cmd_set += 1;
    let exptime = ctx.expiry(request.exptime);
    let write = Write {
        flags: request.flags,
        exptime,
        cas: request.cas,
        ..Write::new(request.command, &request.key, &request.data)
    };
    let now = ctx.now;
    let status = ctx.on_key(write.key, |store| store.store(&write, now));
    ctx.observe_store(&write, status);
    let response = match status {
        StoreStatus::Stored(_) => Response::Stored,
        StoreStatus::NotStored => Response::NotStored,
        StoreStatus::Exists => Response::Exists,
        StoreStatus::NotFound => Response::NotFound,
        StoreStatus::TooLarge => Response::Message(ServerMessage::ObjectTooLarge),
        StoreStatus::NoMemory => Response::Message(ServerMessage::OutOfMemoryStoring),
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}
