//! `set`, `add`, `replace`, `append`, `prepend`, `cas`.

use mc_proto::StoreRequest;

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
    let status = ctx.store.store(&write, ctx.now);
    ctx.observe_store(
        &request.key,
        request.command,
        status,
        exptime,
        request.data.len(),
    );
    let line: &[u8] = match status {
        StoreStatus::Stored(_) => b"STORED\r\n",
        StoreStatus::NotStored => b"NOT_STORED\r\n",
        StoreStatus::Exists => b"EXISTS\r\n",
        StoreStatus::NotFound => b"NOT_FOUND\r\n",
        StoreStatus::TooLarge => b"SERVER_ERROR object too large for cache\r\n",
        StoreStatus::NoMemory => b"SERVER_ERROR out of memory storing object\r\n",
    };
    ctx.reply(request.noreply, line);
    Control::Continue
}
