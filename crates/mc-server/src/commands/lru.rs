//! `lru tune <hot%> <warm%> <hot factor> <warm factor>`, `lru mode flat|segmented`,
//! `lru temp_ttl <ttl>`: memcached's segmented-LRU knobs. They are checked and remembered
//! as memcached does (`stats settings` shows them); this server's LRU is one list per class.

use mc_proto::numbers::{parse_i32, parse_u32};
use mc_proto::AdminWords;

use super::{Control, Ctx};

fn parse_f64(word: &[u8]) -> Option<f64> {
    std::str::from_utf8(word).ok()?.parse().ok()
}

pub(crate) fn lru(request: AdminWords, ctx: &mut Ctx<'_>) -> Control {
    let mut words = request.words();
    let noreply = request.noreply();
    if noreply {
        words.pop();
    }
    let maintainer = ctx.env.config.tuning.lru_maintainer;
    let mut lru = ctx.env.runtime.lru.lock();
    let line: &[u8] = match words.as_slice() {
        [b"tune", hot, warm, hot_factor, warm_factor, ..] => {
            match (
                parse_u32(hot),
                parse_u32(warm),
                parse_f64(hot_factor),
                parse_f64(warm_factor),
            ) {
                (Some(hot), Some(warm), Some(hot_factor), Some(warm_factor)) => {
                    if u64::from(hot) + u64::from(warm) > 80 {
                        b"ERROR hot and warm pcts must not exceed 80\r\n"
                    } else if hot_factor <= 0.0 || warm_factor <= 0.0 {
                        b"ERROR hot/warm age factors must be greater than 0\r\n"
                    } else {
                        lru.hot_lru_pct = hot;
                        lru.warm_lru_pct = warm;
                        lru.hot_max_factor = hot_factor;
                        lru.warm_max_factor = warm_factor;
                        b"OK\r\n"
                    }
                }
                _ => b"ERROR\r\n",
            }
        }
        [b"mode", mode, ..] if maintainer => match *mode {
            b"flat" => {
                lru.segmented = false;
                b"OK\r\n"
            }
            b"segmented" => {
                lru.segmented = true;
                b"OK\r\n"
            }
            _ => b"ERROR\r\n",
        },
        [b"temp_ttl", ttl, ..] if maintainer => match parse_i32(ttl) {
            Some(ttl) if ttl < 0 => {
                lru.temp_lru = false;
                b"OK\r\n"
            }
            Some(ttl) => {
                lru.temp_lru = true;
                lru.temporary_ttl = ttl as u32;
                b"OK\r\n"
            }
            None => b"ERROR\r\n",
        },
        _ => b"ERROR\r\n",
    };
    drop(lru);
    ctx.reply(noreply, line);
    Control::Continue
}
