//! `lru tune <hot%> <warm%> <hot factor> <warm factor>`, `lru mode flat|segmented`,
//! `lru temp_ttl <ttl>`: memcached's segmented-LRU knobs. They are checked and remembered
//! as memcached does (`stats settings` shows them); this server's LRU is one list per class.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use mc_proto::numbers::{parse_i32, parse_u32};
use mc_proto::{AdminWords, Response, ServerMessage};

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
    let segmented = &ctx.env.runtime.lru_segmented;
    let response = match words.as_slice() {
        [b"tune", hot, warm, hot_factor, warm_factor, ..] => {
            match (
                parse_u32(hot),
                parse_u32(warm),
                parse_f64(hot_factor),
                parse_f64(warm_factor),
            ) {
                (Some(hot), Some(warm), Some(hot_factor), Some(warm_factor)) => {
                    if u64::from(hot) + u64::from(warm) > 80 {
                        Response::Message(ServerMessage::HotWarmPercentTooHigh)
                    } else if hot_factor <= 0.0 || warm_factor <= 0.0 {
                        Response::Message(ServerMessage::AgeFactorsNotPositive)
                    } else {
                        lru.hot_lru_pct = hot;
                        lru.warm_lru_pct = warm;
                        lru.hot_max_factor = hot_factor;
                        lru.warm_max_factor = warm_factor;
                        Response::Ok
                    }
                }
                _ => Response::Error(Bytes::new()),
            }
        }
        [b"mode", mode, ..] if maintainer => match *mode {
            b"flat" => {
                segmented.store(false, Ordering::Relaxed);
                Response::Ok
            }
            b"segmented" => {
                segmented.store(true, Ordering::Relaxed);
                Response::Ok
            }
            _ => Response::Error(Bytes::new()),
        },
        [b"temp_ttl", ttl, ..] if maintainer => match parse_i32(ttl) {
            Some(ttl) if ttl < 0 => {
                lru.temp_lru = false;
                Response::Ok
            }
            Some(ttl) => {
                lru.temp_lru = true;
                lru.temporary_ttl = ttl as u32;
                Response::Ok
            }
            None => Response::Error(Bytes::new()),
        },
        _ => Response::Error(Bytes::new()),
    };
    drop(lru);
    ctx.reply(noreply, response);
    Control::Continue
}
