//! `delete`.

use mc_proto::{Delete, Response};

use super::{Control, Ctx};
use crate::storage::DeleteStatus;

pub(crate) fn delete(request: Delete, ctx: &mut Ctx<'_>) -> Control {
    let now = ctx.now;
    let status = ctx.on_key(&request.key, |store| store.delete(&request.key, None, now));
    ctx.observe_delete(&request.key);
    let response = match status {
        DeleteStatus::Deleted => Response::Deleted,
        DeleteStatus::NotFound | DeleteStatus::Exists => Response::NotFound,
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}
