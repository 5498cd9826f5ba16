//! `slabs reassign <src> <dst>` and `slabs automove <0|1|2>`.

use bytes::BufMut;
use mc_proto::numbers::parse_i32;
use mc_proto::AdminWords;

use super::{Control, Ctx};
use crate::event_log::kind;
use crate::runtime_settings::RuntimeSettings;
use crate::storage::Reassign;

pub(crate) fn slabs(request: AdminWords, ctx: &mut Ctx<'_>) -> Control {
    let words = request.words();
    let line: &[u8] = match words.as_slice() {
        [b"reassign", _, _] if !ctx.env.config.slab_reassign => {
            b"CLIENT_ERROR slab reassignment disabled\r\n"
        }
        [b"reassign", src, dst] => match (parse_i32(src), parse_i32(dst)) {
            (Some(src), Some(dst)) => match ctx.store.reassign(src.into(), dst.into(), ctx.now) {
                Reassign::Moved => {
                    ctx.env.events.log(kind::SYSEVENTS, |line| {
                        line.push_str(&format!("type=slab_move src={src} dst={dst}"));
                    });
                    b"OK\r\n"
                }
                Reassign::BadClass => b"BADCLASS invalid src or dst class id\r\n",
                Reassign::NoSpare => b"NOSPARE source class has no spare pages\r\n",
                Reassign::Same => b"SAME src and dst class are identical\r\n",
            },
            _ => b"CLIENT_ERROR bad command line format\r\n",
        },
        [b"automove", mode, ..] => match parse_i32(mode) {
            Some(mode @ 0..=2) => {
                RuntimeSettings::set(&ctx.env.runtime.slab_automove, mode as u32);
                ctx.store.set_automove(mode != 0);
                b"OK\r\n"
            }
            _ => b"ERROR\r\n",
        },
        _ => b"ERROR\r\n",
    };
    ctx.out.put_slice(line);
    Control::Continue
}
