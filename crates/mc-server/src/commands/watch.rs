//! `watch [fetchers|mutations|evictions|sysevents|connevents|rawcmds|proxy…]`: turn this
//! connection into a stream of the server's event log (fetchers only when no kind is named).

use bytes::Bytes;
use mc_proto::{AdminWords, Response, ServerMessage};

use super::{Control, Ctx};
use crate::event_log::kind;

pub(crate) fn watch(request: AdminWords, ctx: &mut Ctx<'_>) -> Control {
    if !ctx.env.config.watch_enabled {
        ctx.message(ServerMessage::WatchNotAllowed);
        return Control::Continue;
    }
    // Answers still waiting to be written would be mixed into the log stream.
    if !ctx.out.is_empty() {
        ctx.message(ServerMessage::WatchAfterOtherCommands);
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
                ctx.answer(Response::Error(Bytes::new()));
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
            ctx.message(ServerMessage::WatcherTooMany);
            Control::Continue
        }
    }
}
