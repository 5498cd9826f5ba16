//! `slabs reassign <src> <dst>` and `slabs automove <0|1|2>`.

use std::fmt::Write as _;

use bytes::Bytes;
use mc_proto::numbers::parse_i32;
use mc_proto::{AdminWords, Response, ServerMessage};

use super::{Control, Ctx};
use crate::event_log::kind;
use crate::runtime_settings::RuntimeSettings;
use crate::storage::Reassign;

pub(crate) fn slabs(request: AdminWords, ctx: &mut Ctx<'_>) -> Control {
    let words = request.words();
    let response = match words.as_slice() {
        [b"reassign", _, _] if !ctx.env.config.slab_reassign => {
            Response::Message(ServerMessage::SlabReassignDisabled)
        }
        [b"reassign", src, dst] => match (parse_i32(src), parse_i32(dst)) {
            (Some(src), Some(dst)) => match ctx.store.reassign(src.into(), dst.into(), ctx.now) {
                Reassign::Moved => {
                    ctx.env.events.log(kind::SYSEVENTS, |line| {
                        let _ = write!(line, "type=slab_move src={src} dst={dst}");
                    });
                    Response::Ok
                }
                Reassign::BadClass => Response::Message(ServerMessage::BadReassignClass),
                Reassign::NoSpare => Response::Message(ServerMessage::NoSpare),
                Reassign::Same => Response::Message(ServerMessage::SameClass),
            },
            _ => Response::Message(ServerMessage::BadCommandLineFormat),
        },
        [b"automove", mode, ..] => match parse_i32(mode) {
            Some(mode @ 0..=2) => {
                RuntimeSettings::set(&ctx.env.runtime.slab_automove, mode as u32);
                ctx.store.set_automove(mode != 0);
                Response::Ok
            }
            _ => Response::Error(Bytes::new()),
        },
        _ => Response::Error(Bytes::new()),
    };
    ctx.answer(response);
    Control::Continue
}
