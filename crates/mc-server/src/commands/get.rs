//! `get`, `gets`, `gat`, `gats`.
//!
//! A retrieval may name millions of keys (a get line may be 4 MiB) and each may hold a value of
//! up to `-I`: its answer is produced key by key, and the command pauses whenever the slice's
//! budget is spent, keeping the keys not yet answered. Each key is answered from the item as it
//! is when its turn comes, as memcached does.

use mc_proto::{encode_value, Get, Response};

use super::{Control, Ctx, Progress, Resume};
use crate::storage::Access;

pub(crate) fn get(mut request: Get, ctx: &mut Ctx<'_>) -> Progress {
    let touch = request.command.touches();
    let access = Access {
        touch: touch.then(|| ctx.expiry(request.exptime)),
        bump: true,
        count_get: !touch,
        count_touch: touch,
    };
    let with_cas = request.command.returns_cas();
    let mut answered = None;
    for (key, end) in request.keys.slices_with_end() {
        if ctx.budget.exhausted(ctx.out) {
            answered = Some(end - key.len());
            break;
        }
        ctx.budget.spend(1);
        if touch {
            ctx.counters.cmd_touch += 1;
        } else {
            ctx.counters.cmd_get += 1;
        }
        // The shard is locked for this key's lookup and the copy of its value only.
        let mut shard = ctx.store.for_key(key);
        if let Some(item) = shard.get(key, ctx.now, access) {
            encode_value(
                ctx.out,
                key,
                item.flags(),
                with_cas.then(|| item.cas()),
                item.value(),
            );
        }
        ctx.lookup = shard.last_lookup();
        drop(shard);
        ctx.observe_get(key);
    }
    if let Some(start) = answered {
        request.keys.skip_to(start);
        return Progress::Paused(Resume::Get(request));
    }
    Response::End.encode(ctx.out);
    Progress::Done(Control::Continue)
}
