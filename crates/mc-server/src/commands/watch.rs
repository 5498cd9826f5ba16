//! `watch [fetchers|mutations|evictions|sysevents|connevents|rawcmds|proxy…]`: turn this
//! connection into a stream of the server's event log (fetchers only when no kind is named).

use bytes::BufMut;
use mc_proto::AdminWords;

use super::{Control, Ctx};
use crate::event_log::kind;

pub(crate) fn watch(request: AdminWords, ctx: &mut Ctx<'_>) -> Control {
    if !ctx.env.config.watch_enabled {
        ctx.out
            .put_slice(b"CLIENT_ERROR watch commands not allowed\r\n");
        return Control::Continue;
    }
    // Answers still waiting to be written would be mixed into the log stream.
    if !ctx.out.is_empty() {
        ctx.out
            .put_slice(b"ERROR cannot pipeline other commands before watch\r\n");
        return Control::Continue;
    }
    let mut words = request.words();
    if request.noreply() {
        words.pop();
    }
    let mut kinds = 0;
    for word in &words {
        match kind::parse(word) {
            Some(k) => kinds |= k,
            None => {
                ctx.out.put_slice(b"ERROR\r\n");
                return Control::Continue;
            }
        }
    }
    if words.is_empty() {
        kinds = kind::FETCHERS;
    }
    match ctx.env.events.attach(kinds) {
        Some(watcher) => {
            // The watcher's stream starts with its `OK`.
            ctx.client.watcher = Some(watcher);
            Control::Watch
        }
        None => {
            ctx.out
                .put_slice(b"WATCHER_TOO_MANY log watcher limit reached\r\n");
            Control::Continue
        }
    }
}
