//! `delete`.

use mc_proto::Delete;

use super::{Control, Ctx};
use crate::storage::DeleteStatus;

pub(crate) fn delete(request: Delete, ctx: &mut Ctx<'_>) -> Control {
    let line: &[u8] = match ctx.store.delete(&request.key, None, ctx.now) {
        DeleteStatus::Deleted => b"DELETED\r\n",
        DeleteStatus::NotFound | DeleteStatus::Exists => b"NOT_FOUND\r\n",
    };
    ctx.reply(request.noreply, line);
    Control::Continue
}
