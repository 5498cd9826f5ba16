//! `get`, `gets`, `gat`, `gats`.
//!
//! A retrieval may name millions of keys (a get line may be 4 MiB) and each may hold a value of
//! up to `-I`: its answer is produced key by key, and the command pauses whenever the slice's
//! budget is spent, keeping the keys not yet answered. Each key is answered from the item as it
//! is when its turn comes, as memcached does.
//!
//! A key is first looked up with its shard shared with other readers
//! ([`Store::read`](crate::storage::Store::read)); only
//! when the read must change something (a dead item to unlink, an expiry to set, a last-access
//! time to move on) is it done again with the shard to itself.

use mc_proto::{encode_value, Get, Response};

use super::{Control, Ctx, Progress, Resume};
use crate::storage::{Access, Item, Lookup, Miss, Read};

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
        // The shard is locked for this key's lookup and the copy of its value only. `gat` and
        // `gats` always change the item, so they take the shard to themselves at once.
        let store = ctx.store;
        let shared = (!touch).then(|| store.read_key(key));
        match shared
            .as_ref()
            .map(|shard| shard.read(key, ctx.now, access))
        {
            Some(Read::Hit(item)) => {
                answer(ctx.out, key, &item, with_cas);
                if access.count_get {
                    ctx.reads.hit(item.class());
                }
                ctx.lookup = Lookup::Found {
                    class: item.class(),
                    len: item.value().len(),
                };
            }
            Some(Read::Miss) => {
                ctx.reads.get_misses += u64::from(access.count_get);
                ctx.lookup = Lookup::Missed(Miss::NotFound);
            }
            Some(Read::NeedsWrite) | None => {
                drop(shared);
                let mut shard = store.for_key(key);
                if let Some(item) = shard.get(key, ctx.now, access) {
                    answer(ctx.out, key, &item, with_cas);
                }
                ctx.lookup = shard.last_lookup();
            }
        }
        ctx.observe_get(key);
    }
    if let Some(start) = answered {
        request.keys.skip_to(start);
        return Progress::Paused(Resume::Get(request));
    }
    Response::End.encode(ctx.out);
    Progress::Done(Control::Continue)
}

/// One `VALUE` line and its data.
fn answer(out: &mut bytes::BytesMut, key: &[u8], item: &Item<'_>, with_cas: bool) {
    encode_value(
        out,
        key,
        item.flags(),
        with_cas.then(|| item.cas()),
        item.value(),
    );
}
