//! `lru_crawler`: `metadump <all|hash|ids>` lists every live item in memcached's format (a
//! full key scan, used by tools that back up or inspect a cache); `crawl <all|ids>` asks the
//! background crawler to reclaim dead items; `enable`, `disable`, `sleep` and `tocrawl`
//! tune it.
//!
//! The dump walks the store in slices of the executor's budget ([`crate::storage::Store::scan`]),
//! one shard locked at a time, so other clients are served meanwhile, and its
//! output is written out as it grows instead of being gathered whole.

use bytes::Bytes;
use mc_proto::numbers::parse_u32;
use mc_proto::response::{encode_metadump_entry, MetadumpEntry};
use mc_proto::{LruCrawler, Response, ServerMessage};

use super::{Control, Ctx, Progress, Resume};
use crate::background_crawler::Busy;
use crate::runtime_settings::RuntimeSettings;
use crate::storage::Item;
use crate::store_shards::ShardCursor;

/// A metadump in progress.
#[derive(Debug)]
pub(crate) struct Metadump {
    /// Which classes to list, by class index; `None` for all of them.
    classes: Option<Vec<bool>>,
    cursor: ShardCursor,
}

pub(crate) fn lru_crawler(request: LruCrawler, ctx: &mut Ctx<'_>) -> Progress {
    let args: Vec<&[u8]> = request.args.iter().map(|a| &a[..]).collect();
    let runtime = &ctx.env.runtime;
    let enabled = RuntimeSettings::on(&runtime.lru_crawler);
    let response = match args.as_slice() {
        [b"crawl", _] | [b"metadump", _] if !enabled => {
            Response::Message(ServerMessage::CrawlerDisabled)
        }
        [b"crawl", which] => match parse_classes(which, ctx.store.class_count()) {
            Some(classes) => match ctx.env.crawler.request(classes) {
                Ok(()) => Response::Ok,
                Err(Busy) => Response::Message(ServerMessage::CrawlerBusy),
            },
            None => Response::Message(ServerMessage::BadClass),
        },
        [b"metadump", _] if !ctx.env.config.dump_enabled => {
            Response::Message(ServerMessage::MetadumpNotAllowed)
        }
        // Answers still waiting to be written would end up inside the dump.
        [b"metadump", _] if !ctx.out.is_empty() => {
            Response::Message(ServerMessage::MetadumpAfterOtherCommands)
        }
        [b"metadump", which] => match parse_classes(which, ctx.store.class_count()) {
            Some(classes) => {
                let dump = Metadump {
                    classes,
                    cursor: ShardCursor::default(),
                };
                return metadump(dump, ctx);
            }
            None => Response::Message(ServerMessage::BadClass),
        },
        [b"tocrawl", n] => match parse_u32(n) {
            Some(n) => {
                RuntimeSettings::set(&runtime.lru_crawler_tocrawl, n);
                Response::Ok
            }
            None => Response::Message(ServerMessage::BadCommandLineFormat),
        },
        [b"sleep", n] => match parse_u32(n) {
            Some(n) if n > 1_000_000 => Response::Message(ServerMessage::CrawlerSleepTooLong),
            Some(n) => {
                RuntimeSettings::set(&runtime.lru_crawler_sleep, n);
                Response::Ok
            }
            None => Response::Message(ServerMessage::BadCommandLineFormat),
        },
        [b"enable"] => {
            RuntimeSettings::set(&runtime.lru_crawler, true);
            Response::Ok
        }
        [b"disable"] => {
            RuntimeSettings::set(&runtime.lru_crawler, false);
            Response::Ok
        }
        _ => Response::Error(Bytes::new()),
    };
    ctx.answer(response);
    Progress::Done(Control::Continue)
}

/// `all` and `hash` (memcached walks its hash table instead of its LRUs; the set of items is
/// the same) list everything; otherwise a comma-separated list of class ids, each from 1 to
/// the number of classes. `None` for a bad list.
fn parse_classes(which: &[u8], class_count: usize) -> Option<Option<Vec<bool>>> {
    if which == b"all" || which == b"hash" {
        return Some(None);
    }
    let mut wanted = vec![false; class_count];
    // memcached's strtok_r skips empty pieces (`1,` is class 1).
    for piece in which.split(|&b| b == b',').filter(|p| !p.is_empty()) {
        let id = mc_proto::numbers::parse_u32(piece)? as usize;
        if id == 0 || id > class_count {
            return None;
        }
        wanted[id - 1] = true;
    }
    Some(Some(wanted))
}

/// Continue a dump: list items until the slice's budget is spent.
pub(crate) fn metadump(mut dump: Metadump, ctx: &mut Ctx<'_>) -> Progress {
    let clock = &ctx.env.clock;
    let out = &mut *ctx.out;
    let budget = &mut *ctx.budget;
    let classes = &dump.classes;
    let include = |class: usize| classes.as_ref().map_or(true, |c| c[class]);
    let mut listed = 0;
    let next = ctx.store.scan(
        dump.cursor,
        budget.steps_mut(),
        ctx.now,
        include,
        |item: Item<'_>| {
            listed += 1;
            let exp = if item.exptime() == 0 {
                -1
            } else {
                clock.to_unix(item.exptime())
            };
            let entry = MetadumpEntry {
                key: item.key(),
                exp,
                last_access: clock.to_unix(item.atime()),
                cas: item.cas(),
                fetched: item.fetched(),
                class: item.class() + 1,
                size: item.size(),
            };
            encode_metadump_entry(out, &entry);
        },
    );
    // A scan step is one chunk looked at; each listed item counts once more for its line.
    budget.spend(listed);
    match next {
        Some(cursor) => {
            dump.cursor = cursor;
            Progress::Paused(Resume::Metadump(dump))
        }
        None => {
            Response::End.encode(out);
            Progress::Done(Control::Continue)
        }
    }
}
