//! `delete`.

use mc_proto::{Delete, Response};

use super::{Control, Ctx};
use crate::storage::DeleteStatus;

pub(crate) fn delete(request: Delete, ctx: &mut Ctx<'_>) -> Control {
    let status = ctx.store.delete(&request.key, None, ctx.now);
    ctx.observe_delete(&request.key);
    let response = match status {
        DeleteStatus::Deleted => Response::Deleted,
        DeleteStatus::NotFound | DeleteStatus::Exists => Response::NotFound,
    };
    ctx.reply(request.noreply, response);
    Control::Continue
}
