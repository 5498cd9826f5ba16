//! Property tests: everything we encode decodes back to itself, and a stream decodes the same
//! however it is split into reads.

mod common;

use bytes::{Bytes, BytesMut};
use common::{decode_chunks, Event};
use mc_proto::meta::{MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaSet};
use mc_proto::{
    Arithmetic, ArithmeticOp, CacheMemlimit, Delete, FlushAll, Get, GetCommand, Keys, Limits,
    LruCrawler, MetaFlags, MetaResponse, MetaStatus, Request, Response, ResponseDecoder,
    ShutdownMode, Stats, StoreCommand, StoreRequest, Touch, Value, Verbosity,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A key memcached reads back unchanged: any byte but space, CR, LF and NUL.
fn key() -> impl Strategy<Value = Bytes> {
    vec(
        any::<u8>().prop_filter("not a separator", |b| {
            !matches!(b, b' ' | b'\r' | b'\n' | 0)
        }),
        1..=250,
    )
    .prop_map(Bytes::from)
}

fn short_key() -> impl Strategy<Value = Bytes> {
    vec(0x21u8..0x7f, 1..=40).prop_map(Bytes::from)
}

fn data() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..600).prop_map(Bytes::from)
}

/// A word without spaces or line breaks.
fn word() -> impl Strategy<Value = Bytes> {
    vec(0x21u8..0x7f, 1..12).prop_map(Bytes::from)
}

/// Text that may hold spaces but no line break.
fn text() -> impl Strategy<Value = Bytes> {
    vec(
        any::<u8>().prop_filter("no line break", |b| !matches!(b, b'\r' | b'\n')),
        0..40,
    )
    .prop_map(Bytes::from)
}

/// Valid meta flags: distinct letters, each with a well-formed argument.
fn meta_flags(allowed: &'static [u8], max: usize) -> impl Strategy<Value = MetaFlags> {
    proptest::sample::subsequence(allowed.to_vec(), 0..=max.min(allowed.len()))
        .prop_flat_map(|letters| {
            letters
                .into_iter()
                .map(|letter| {
                    let arg: BoxedStrategy<String> = match letter {
                        b'T' | b'N' | b'R' => any::<i32>().prop_map(|n| n.to_string()).boxed(),
                        b'F' => any::<u32>().prop_map(|n| n.to_string()).boxed(),
                        b'C' | b'J' | b'D' => any::<u64>().prop_map(|n| n.to_string()).boxed(),
                        b'O' => "[a-zA-Z0-9]{1,31}".boxed(),
                        b'M' => Just("S".to_string()).boxed(),
                        _ => Just(String::new()).boxed(),
                    };
                    arg.prop_map(move |a| format!("{}{a}", letter as char))
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .prop_map(|tokens| MetaFlags::new(tokens.join(" ")).expect("generated flags are valid"))
}

const GET_FLAGS: &[u8] = b"vqukstcfhlOTNRP";
const SET_FLAGS: &[u8] = b"qkcOTFCMI";
const DELETE_FLAGS: &[u8] = b"qkOCTI";
const ARITH_FLAGS: &[u8] = b"qkctvONJDTC";

/// A key for meta commands: printable, or binary when the `b` flag is set.
fn meta_key_and_flags(
    allowed: &'static [u8],
    max: usize,
) -> impl Strategy<Value = (Bytes, MetaFlags)> {
    (any::<bool>(), meta_flags(allowed, max)).prop_flat_map(|(binary, flags)| {
        if binary {
            let raw = format!("b {}", String::from_utf8_lossy(flags.as_bytes()));
            let flags = MetaFlags::new(raw.trim().to_string()).expect("valid flags with b");
            (vec(any::<u8>(), 1..=150).prop_map(Bytes::from), Just(flags)).boxed()
        } else {
            (short_key(), Just(flags)).boxed()
        }
    })
}

fn request() -> impl Strategy<Value = Request> {
    let get_command = select(vec![
        GetCommand::Get,
        GetCommand::Gets,
        GetCommand::Gat,
        GetCommand::Gats,
    ]);
    let store_command = select(StoreCommand::ALL.to_vec());
    prop_oneof![
        (get_command, any::<i32>(), vec(key(), 1..8)).prop_map(|(command, exptime, keys)| {
            Request::Get(Get {
                command,
                exptime: if command.touches() { exptime } else { 0 },
                keys: Keys::new(keys),
            })
        }),
        (
            store_command,
            key(),
            any::<u32>(),
            any::<i32>(),
            any::<u64>(),
            data(),
            any::<bool>()
        )
            .prop_map(|(command, key, flags, exptime, cas, data, noreply)| {
                Request::Store(StoreRequest {
                    command,
                    key,
                    flags,
                    exptime,
                    cas: if command == StoreCommand::Cas { cas } else { 0 },
                    data,
                    noreply,
                })
            }),
        (key(), any::<bool>()).prop_map(|(key, noreply)| Request::Delete(Delete { key, noreply })),
        (any::<bool>(), key(), any::<u64>(), any::<bool>()).prop_map(
            |(incr, key, delta, noreply)| {
                let op = if incr {
                    ArithmeticOp::Incr
                } else {
                    ArithmeticOp::Decr
                };
                Request::Arithmetic(Arithmetic {
                    op,
                    key,
                    delta,
                    noreply,
                })
            }
        ),
        (key(), any::<i32>(), any::<bool>()).prop_map(|(key, exptime, noreply)| Request::Touch(
            Touch {
                key,
                exptime,
                noreply
            }
        )),
        (proptest::option::of(any::<i32>()), any::<bool>())
            .prop_map(|(delay, noreply)| Request::FlushAll(FlushAll { delay, noreply })),
        Just(Request::Version),
        Just(Request::Quit),
        Just(Request::MetaNoop),
        (any::<u32>(), any::<bool>())
            .prop_map(|(level, noreply)| Request::Verbosity(Verbosity { level, noreply })),
        vec(word(), 0..4).prop_map(|args| Request::Stats(Stats { args })),
        vec(word(), 0..4).prop_map(|args| Request::LruCrawler(LruCrawler { args })),
        select(vec![
            ShutdownMode::Immediate,
            ShutdownMode::Graceful,
            ShutdownMode::Invalid
        ])
        .prop_map(Request::Shutdown),
        (any::<u32>(), any::<bool>()).prop_map(|(megabytes, noreply)| {
            Request::CacheMemlimit(CacheMemlimit { megabytes, noreply })
        }),
        meta_key_and_flags(GET_FLAGS, 16)
            .prop_map(|(key, flags)| Request::MetaGet(MetaGet { key, flags })),
        (meta_key_and_flags(SET_FLAGS, 15), data())
            .prop_map(|((key, flags), data)| Request::MetaSet(MetaSet { key, flags, data })),
        meta_key_and_flags(DELETE_FLAGS, 16)
            .prop_map(|(key, flags)| Request::MetaDelete(MetaDelete { key, flags })),
        meta_key_and_flags(ARITH_FLAGS, 16)
            .prop_map(|(key, flags)| Request::MetaArithmetic(MetaArithmetic { key, flags })),
        (short_key(), any::<bool>())
            .prop_map(|(key, base64_key)| { Request::MetaDebug(MetaDebug { key, base64_key }) }),
    ]
}

fn meta_response() -> impl Strategy<Value = MetaResponse> {
    let status = select(vec![
        MetaStatus::Header,
        MetaStatus::Value,
        MetaStatus::Miss,
        MetaStatus::NotFound,
        MetaStatus::NotStored,
        MetaStatus::Exists,
        MetaStatus::Noop,
    ]);
    (status, vec(word(), 0..5), data()).prop_map(|(status, flags, data)| {
        let flags: Vec<&[u8]> = flags.iter().map(|f| &f[..]).collect();
        MetaResponse {
            status,
            flags: Bytes::from(flags.join(&b' ')),
            data: (status == MetaStatus::Value).then_some(data),
        }
    })
}

fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (
            short_key(),
            any::<u32>(),
            proptest::option::of(any::<u64>()),
            data()
        )
            .prop_map(|(key, flags, cas, data)| Response::Value(Value {
                key,
                flags,
                cas,
                data
            })),
        select(vec![
            Response::End,
            Response::Stored,
            Response::NotStored,
            Response::Exists,
            Response::NotFound,
            Response::Deleted,
            Response::Touched,
            Response::Ok,
            Response::Reset,
        ]),
        any::<u64>().prop_map(Response::Number),
        (word(), text()).prop_map(|(name, value)| Response::Stat { name, value }),
        text().prop_map(Response::Version),
        select(vec![
            Bytes::new(),
            Bytes::from_static(b" Too many open connections"),
            Bytes::from_static(b": shutdown not enabled"),
        ])
        .prop_map(Response::Error),
        text().prop_map(Response::ClientError),
        text().prop_map(Response::ServerError),
        meta_response().prop_map(Response::Meta),
        (word(), text()).prop_map(|(key, info)| Response::MetaDebug { key, info }),
        text().prop_map(|t| Response::Line(Bytes::from([&b"MEMLIMIT_"[..], &t].concat()))),
    ]
}

fn encode_requests(requests: &[Request]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for r in requests {
        r.encode(&mut buf);
    }
    buf.to_vec()
}

fn decode_responses(chunks: &[&[u8]]) -> Vec<Response> {
    let mut decoder = ResponseDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(r) = decoder.decode(&mut buf).expect("valid response stream") {
            out.push(r);
        }
    }
    assert!(buf.is_empty(), "all bytes consumed");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn requests_round_trip(requests in vec(request(), 1..6)) {
        let wire = encode_requests(&requests);
        let outcome = decode_chunks(Limits::default(), &[&wire]);
        let decoded: Vec<Request> = outcome
            .events
            .into_iter()
            .map(|e| match e {
                Event::Request(r) => r,
                Event::Error(e) => panic!("{e} for {:?}", String::from_utf8_lossy(&wire)),
            })
            .collect();
        prop_assert_eq!(decoded, requests);
    }

    #[test]
    fn request_stream_splits_anywhere(requests in vec(request(), 1..4), cuts in vec(any::<prop::sample::Index>(), 1..4)) {
        let wire = encode_requests(&requests);
        let whole = decode_chunks(Limits::default(), &[&wire]);
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(wire.len() + 1)).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&wire[last..p]);
            last = p;
        }
        chunks.push(&wire[last..]);
        prop_assert_eq!(decode_chunks(Limits::default(), &chunks), whole);
    }

    #[test]
    fn arbitrary_bytes_split_anywhere(input in vec(any::<u8>(), 0..300), cut in any::<prop::sample::Index>()) {
        let whole = decode_chunks(Limits::default(), &[&input]);
        let at = cut.index(input.len() + 1);
        prop_assert_eq!(decode_chunks(Limits::default(), &[&input[..at], &input[at..]]), whole);
    }

    #[test]
    fn responses_round_trip(responses in vec(response(), 1..6), cut in any::<prop::sample::Index>()) {
        let mut buf = BytesMut::new();
        for r in &responses {
            r.encode(&mut buf);
        }
        let wire = buf.to_vec();
        prop_assert_eq!(&decode_responses(&[&wire]), &responses);
        let at = cut.index(wire.len() + 1);
        prop_assert_eq!(&decode_responses(&[&wire[..at], &wire[at..]]), &responses);
    }
}

#[test]
fn every_split_point_of_a_mixed_stream() {
    let requests = [
        "set k 0 0 5\r\nhello\r\n",
        "get k other\r\n",
        "ms m 3 T10 F2 O9\r\nabc\r\n",
        "mg m v f t k O9\r\n",
        "incr n 5 noreply\r\n",
        "bogus line\r\n",
        "set k 0 0 2\r\nxyz\r\n",
        "delete k\r\n",
    ]
    .concat();
    let wire = requests.as_bytes();
    let whole = decode_chunks(Limits::default(), &[wire]);
    // 5 requests, the bogus line, the bad chunk and the stray "\n" after it, the delete.
    assert_eq!(whole.events.len(), 9, "{whole:?}");
    for a in 0..=wire.len() {
        let split = decode_chunks(Limits::default(), &[&wire[..a], &wire[a..]]);
        assert_eq!(split, whole, "split at {a}");
    }
    // And one byte at a time.
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    assert_eq!(decode_chunks(Limits::default(), &bytes), whole);
}
