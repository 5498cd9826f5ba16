//! `delete`.

use mc_proto::Delete;

use super::{Control, Ctx};
use crate::storage::DeleteStatus;

pub(crate) fn delete(request: Delete, ctx: &mut Ctx<'_>) -> Control {
    let status = ctx.store.delete(&request.key, None, ctx.now);
    ctx.observe_delete(&request.key);
    let line: &[u8] = match status {
        DeleteStatus::Deleted => b"DELETED\r\n",
        DeleteStatus::NotFound | DeleteStatus::Exists => b"NOT_FOUND\r\n",
    };
    ctx.reply(request.noreply, line);
    Control::Continue
}
