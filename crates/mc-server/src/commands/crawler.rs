//! `lru_crawler metadump all`: list every live item, in memcached's format (a full key scan,
//! used by tools that back up or inspect a cache).

use std::fmt::Write as _;

use bytes::BufMut;
use mc_proto::LruCrawler;

use super::{Control, Ctx};

/// memcached's `uriencode`: everything but unreserved URI characters becomes `%XX`.
fn uri_encode(key: &[u8], out: &mut String) {
    for &b in key {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

pub(crate) fn lru_crawler(request: LruCrawler, ctx: &mut Ctx<'_>) -> Control {
    let args: Vec<&[u8]> = request.args.iter().map(|a| &a[..]).collect();
    match args.as_slice() {
        [b"metadump", b"all"] => {
            let clock = &ctx.shared.clock;
            let mut line = String::new();
            for item in ctx.store.metadump(ctx.now) {
                line.clear();
                line.push_str("key=");
                uri_encode(&item.key, &mut line);
                let exp = if item.exptime == 0 {
                    -1
                } else {
                    clock.to_unix(item.exptime)
                };
                let _ = write!(
                    line,
                    " exp={exp} la={} cas={} fetch={} cls={} size={}\r\n",
                    clock.to_unix(item.atime),
                    item.cas,
                    if item.fetched { "yes" } else { "no" },
                    item.class,
                    item.size
                );
                ctx.out.put_slice(line.as_bytes());
            }
            ctx.out.put_slice(b"END\r\n");
        }
        [b"metadump", ..] => ctx
            .out
            .put_slice(b"CLIENT_ERROR bad command line format\r\n"),
        // The crawler's scheduling knobs have nothing to schedule here: items are reclaimed
        // when met, and at the cold end of each class when memory is needed.
        _ => ctx.out.put_slice(b"ERROR\r\n"),
    }
    Control::Continue
}
