//! Table tests: every command decodes to the expected request, and every malformed request to
//! memcached's answer.

mod common;

use bytes::{Bytes, BytesMut};
use common::{decode_all, decode_one, Event};
use mc_proto::meta::{MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaSet};
use mc_proto::{
    Arithmetic, ArithmeticOp, CacheMemlimit, Delete, FlushAll, Get, GetCommand, Keys, Limits,
    LruCrawler, MetaFlags, Request, RequestDecoder, RequestErrorKind, ShutdownMode, Stats,
    StoreCommand, StoreRequest, Touch, Verbosity,
};

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn flags(s: &'static str) -> MetaFlags {
    MetaFlags::new(s).expect("valid test flags")
}

fn store(
    command: StoreCommand,
    key: &'static str,
    f: u32,
    exp: i32,
    cas: u64,
    data: &'static str,
    noreply: bool,
) -> Request {
    Request::Store(StoreRequest {
        command,
        key: b(key),
        flags: f,
        exptime: exp,
        cas,
        data: b(data),
        noreply,
    })
}

fn get_raw(keys: &[&[u8]]) -> Request {
    Request::Get(Get {
        command: GetCommand::Get,
        exptime: 0,
        keys: Keys::new(keys),
    })
}

fn get(command: GetCommand, exptime: i32, keys: &[&str]) -> Request {
    Request::Get(Get {
        command,
        exptime,
        keys: Keys::new(keys),
    })
}

#[test]
fn every_command_decodes() {
    use GetCommand::*;
    use StoreCommand::*;
    let table: Vec<(&[u8], Request)> = vec![
        (b"get a\r\n", get(Get, 0, &["a"])),
        (b"get a b  c\r\n", get(Get, 0, &["a", "b", "c"])),
        (b"bget a\r\n", get(Get, 0, &["a"])),
        (b"gets a b\r\n", get(Gets, 0, &["a", "b"])),
        (b"gat 100 a b\r\n", get(Gat, 100, &["a", "b"])),
        (b"gats -1 a\r\n", get(Gats, -1, &["a"])),
        (b"gat 100\r\n", get(Gat, 100, &[])),
        (b"get a\n", get(Get, 0, &["a"])),
        (
            b"set k 1 2 3\r\nabc\r\n",
            store(Set, "k", 1, 2, 0, "abc", false),
        ),
        (
            b"set k 1 2 3 noreply\r\nabc\r\n",
            store(Set, "k", 1, 2, 0, "abc", true),
        ),
        (
            b"set k 0 0 2 \r\nab\r\n",
            store(Set, "k", 0, 0, 0, "ab", false),
        ),
        (
            b"set k 0 0 2 junk\r\nab\r\n",
            store(Set, "k", 0, 0, 0, "ab", false),
        ),
        (b"set k 0 0 0\r\n\r\n", store(Set, "k", 0, 0, 0, "", false)),
        (
            b"add k 0 0 1\r\nx\r\n",
            store(Add, "k", 0, 0, 0, "x", false),
        ),
        (
            b"replace k 0 0 1\r\nx\r\n",
            store(Replace, "k", 0, 0, 0, "x", false),
        ),
        (
            b"append k 0 0 1\r\nx\r\n",
            store(Append, "k", 0, 0, 0, "x", false),
        ),
        (
            b"prepend k 0 0 1\r\nx\r\n",
            store(Prepend, "k", 0, 0, 0, "x", false),
        ),
        (
            b"cas k 0 0 1 99\r\nx\r\n",
            store(Cas, "k", 0, 0, 99, "x", false),
        ),
        (
            b"cas k 0 0 1 99 noreply\r\nx\r\n",
            store(Cas, "k", 0, 0, 99, "x", true),
        ),
        (
            b"set k 4294967296 0 1\r\nx\r\n",
            store(Set, "k", 0, 0, 0, "x", false),
        ),
        (
            b"set k 0 -1 1\r\nx\r\n",
            store(Set, "k", 0, -1, 0, "x", false),
        ),
        (
            b"set k 0 0 4\r\na\r\nb\r\n",
            store(Set, "k", 0, 0, 0, "a\r\nb", false),
        ),
        (
            b"delete k\r\n",
            Request::Delete(Delete {
                key: b("k"),
                noreply: false,
            }),
        ),
        (
            b"delete k 0\r\n",
            Request::Delete(Delete {
                key: b("k"),
                noreply: false,
            }),
        ),
        (
            b"delete k noreply\r\n",
            Request::Delete(Delete {
                key: b("k"),
                noreply: true,
            }),
        ),
        (
            b"delete k 0 noreply\r\n",
            Request::Delete(Delete {
                key: b("k"),
                noreply: true,
            }),
        ),
        (
            b"incr k 5\r\n",
            Request::Arithmetic(Arithmetic {
                op: ArithmeticOp::Incr,
                key: b("k"),
                delta: 5,
                noreply: false,
            }),
        ),
        (
            b"decr k 18446744073709551615 noreply\r\n",
            Request::Arithmetic(Arithmetic {
                op: ArithmeticOp::Decr,
                key: b("k"),
                delta: u64::MAX,
                noreply: true,
            }),
        ),
        (
            b"touch k 10\r\n",
            Request::Touch(Touch {
                key: b("k"),
                exptime: 10,
                noreply: false,
            }),
        ),
        (
            b"touch k -1 noreply\r\n",
            Request::Touch(Touch {
                key: b("k"),
                exptime: -1,
                noreply: true,
            }),
        ),
        (
            b"flush_all\r\n",
            Request::FlushAll(FlushAll {
                delay: None,
                noreply: false,
            }),
        ),
        (
            b"flush_all noreply\r\n",
            Request::FlushAll(FlushAll {
                delay: None,
                noreply: true,
            }),
        ),
        (
            b"flush_all 10\r\n",
            Request::FlushAll(FlushAll {
                delay: Some(10),
                noreply: false,
            }),
        ),
        (
            b"flush_all 0 noreply\r\n",
            Request::FlushAll(FlushAll {
                delay: Some(0),
                noreply: true,
            }),
        ),
        (b"version\r\n", Request::Version),
        (b"version foo bar\r\n", Request::Version),
        (
            b"verbosity 1\r\n",
            Request::Verbosity(Verbosity {
                level: 1,
                noreply: false,
            }),
        ),
        (
            b"verbosity 1 noreply\r\n",
            Request::Verbosity(Verbosity {
                level: 1,
                noreply: true,
            }),
        ),
        (b"quit\r\n", Request::Quit),
        (b"stats\r\n", Request::Stats(Stats { args: vec![] })),
        (
            b"stats settings\r\n",
            Request::Stats(Stats {
                args: vec![b("settings")],
            }),
        ),
        (
            b"stats cachedump 1 2\r\n",
            Request::Stats(Stats {
                args: vec![b("cachedump"), b("1"), b("2")],
            }),
        ),
        (b"shutdown\r\n", Request::Shutdown(ShutdownMode::Immediate)),
        (
            b"lru_crawler metadump all\r\n",
            Request::LruCrawler(LruCrawler {
                args: vec![b("metadump"), b("all")],
            }),
        ),
        (
            b"shutdown graceful\r\n",
            Request::Shutdown(ShutdownMode::Graceful),
        ),
        (
            b"shutdown now\r\n",
            Request::Shutdown(ShutdownMode::Invalid),
        ),
        (
            b"cache_memlimit 100\r\n",
            Request::CacheMemlimit(CacheMemlimit {
                megabytes: 100,
                noreply: false,
            }),
        ),
        (
            b"cache_memlimit 100 noreply\r\n",
            Request::CacheMemlimit(CacheMemlimit {
                megabytes: 100,
                noreply: true,
            }),
        ),
        (
            b"mg k v f t\r\n",
            Request::MetaGet(MetaGet {
                key: b("k"),
                flags: flags("v f t"),
            }),
        ),
        (
            b"mg k\r\n",
            Request::MetaGet(MetaGet {
                key: b("k"),
                flags: MetaFlags::empty(),
            }),
        ),
        (
            b"mg Zm9v b v\r\n",
            Request::MetaGet(MetaGet {
                key: b("foo"),
                flags: flags("b v"),
            }),
        ),
        (
            b"ms k 2 T0 F5\r\nhi\r\n",
            Request::MetaSet(MetaSet {
                key: b("k"),
                flags: flags("T0 F5"),
                data: b("hi"),
            }),
        ),
        (
            b"ms k 2\r\nhi\r\n",
            Request::MetaSet(MetaSet {
                key: b("k"),
                flags: MetaFlags::empty(),
                data: b("hi"),
            }),
        ),
        (
            b"md k q\r\n",
            Request::MetaDelete(MetaDelete {
                key: b("k"),
                flags: flags("q"),
            }),
        ),
        (
            b"ma k MD D3 v\r\n",
            Request::MetaArithmetic(MetaArithmetic {
                key: b("k"),
                flags: flags("MD D3 v"),
            }),
        ),
        (b"mn\r\n", Request::MetaNoop),
        (b"mn extra\r\n", Request::MetaNoop),
        (
            b"me k\r\n",
            Request::MetaDebug(MetaDebug {
                key: b("k"),
                base64_key: false,
            }),
        ),
        (
            b"me Zm9v b\r\n",
            Request::MetaDebug(MetaDebug {
                key: b("foo"),
                base64_key: true,
            }),
        ),
        // Only spaces separate tokens: TAB, control and high bytes belong to the key.
        (b"get a\tb\x01\xff\r\n", get_raw(&[b"a\tb\x01\xff"])),
        // A NUL ends the line, as C strings do.
        (b"get a\x00 b\r\n", get(Get, 0, &["a"])),
    ];
    for (input, expected) in table {
        let got = decode_one(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn meta_set_exposes_its_storage_semantics() {
    let mode = |f: &'static str| {
        MetaSet {
            key: b("k"),
            flags: flags(f),
            data: b(""),
        }
        .command()
    };
    assert_eq!(mode(""), StoreCommand::Set);
    assert_eq!(mode("ME"), StoreCommand::Add);
    assert_eq!(mode("MA"), StoreCommand::Append);
    assert_eq!(mode("MP"), StoreCommand::Prepend);
    assert_eq!(mode("MR"), StoreCommand::Replace);
    assert_eq!(mode("C5"), StoreCommand::Cas);
    assert_eq!(mode("MR C5"), StoreCommand::Cas);
    assert_eq!(mode("ME C5"), StoreCommand::Add);
    let ma = MetaArithmetic {
        key: b("k"),
        flags: flags("M- D7"),
    };
    assert_eq!((ma.op(), ma.delta()), (ArithmeticOp::Decr, 7));
}

/// (input, memcached's answer or None for a silent close / noreply, closes the connection)
#[test]
fn every_error_gets_memcacheds_answer() {
    let key251 = format!("get {}\r\n", "k".repeat(251));
    let set251 = format!("set {} 0 0 1\r\n", "k".repeat(251));
    let set251_noreply = format!("set {} 0 0 1 noreply\r\n", "k".repeat(251));
    let long_line = format!("set {}\r\n", "k".repeat(2100));
    let long_get = format!("get {}\r\n", "k ".repeat(2000));
    // 18 flags: one more than memcached allows on mg.
    let mg_many = "mg k v f t c k s h l u O1 q T1 N1 R1 Ms J1 D1 P\r\n".to_string();
    let long_opaque = format!("mg k O{}\r\n", "1".repeat(32));
    let table: Vec<(Vec<u8>, Option<&str>, bool)> = vec![
        (b"bogus\r\n".to_vec(), Some("ERROR"), false),
        (b"\r\n".to_vec(), Some("ERROR"), false),
        (b"x\r\n".to_vec(), Some("ERROR"), false),
        (b"get\r\n".to_vec(), Some("ERROR"), false),
        (b"gx a\r\n".to_vec(), Some("ERROR"), false),
        (b"GET a\r\n".to_vec(), Some("ERROR"), false),
        (b"set k 0 0\r\n".to_vec(), Some("ERROR"), false),
        (
            b"set k 0 0 1 noreply extra\r\n".to_vec(),
            Some("ERROR"),
            false,
        ),
        (b"cas k 0 0 1\r\n".to_vec(), Some("ERROR"), false),
        (b"incr k\r\n".to_vec(), Some("ERROR"), false),
        (b"touch k\r\n".to_vec(), Some("ERROR"), false),
        (b"delete\r\n".to_vec(), Some("ERROR"), false),
        (b"delete a b c d e\r\n".to_vec(), Some("ERROR"), false),
        (b"verbosity\r\n".to_vec(), Some("ERROR"), false),
        (b"flush_all 1 2 3\r\n".to_vec(), Some("ERROR"), false),
        (b"cache_memlimit abc\r\n".to_vec(), Some("ERROR"), false),
        (b"mg\r\n".to_vec(), Some("ERROR"), false),
        (b"mx k\r\n".to_vec(), Some("ERROR"), false),
        (
            key251.into_bytes(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            set251.into_bytes(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (set251_noreply.into_bytes(), None, false),
        (
            b"set k x 0 1\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"set k -1 0 1\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"set k 0 x 1\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"set k 0 0 -1\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"set k 0 0 2147483646\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (b"set k 0 0 x noreply\r\n".to_vec(), None, false),
        (
            b"cas k 0 0 1 -5\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"verbosity x\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"delete k 5\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"),
            false,
        ),
        (b"delete k 5 noreply\r\n".to_vec(), None, false),
        (
            b"incr k -1\r\n".to_vec(),
            Some("CLIENT_ERROR invalid numeric delta argument"),
            false,
        ),
        (b"incr k x noreply\r\n".to_vec(), None, false),
        (
            b"touch k x\r\n".to_vec(),
            Some("CLIENT_ERROR invalid exptime argument"),
            false,
        ),
        (
            b"gat x k\r\n".to_vec(),
            Some("CLIENT_ERROR invalid exptime argument"),
            false,
        ),
        (
            b"flush_all x\r\n".to_vec(),
            Some("CLIENT_ERROR invalid exptime argument"),
            false,
        ),
        (
            b"set k 0 0 1\r\nxy\r\n".to_vec(),
            Some("CLIENT_ERROR bad data chunk"),
            false,
        ),
        (
            b"mg k v v\r\n".to_vec(),
            Some("CLIENT_ERROR duplicate flag"),
            false,
        ),
        (
            b"mg k !\r\n".to_vec(),
            Some("CLIENT_ERROR invalid flag"),
            false,
        ),
        (
            b"mg k Tx\r\n".to_vec(),
            Some("CLIENT_ERROR bad token in command line format"),
            false,
        ),
        (
            b"mg k Fx\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"mg !!! b\r\n".to_vec(),
            Some("CLIENT_ERROR error decoding key"),
            false,
        ),
        (
            mg_many.into_bytes(),
            Some("CLIENT_ERROR options flags are too long"),
            false,
        ),
        (
            long_opaque.into_bytes(),
            Some("CLIENT_ERROR opaque token too long"),
            false,
        ),
        (
            b"md k v v\r\n".to_vec(),
            Some("CLIENT_ERROR invalid or duplicate flag"),
            false,
        ),
        (
            b"ma k !\r\n".to_vec(),
            Some("CLIENT_ERROR invalid or duplicate flag"),
            false,
        ),
        (
            b"ma k MX\r\n".to_vec(),
            Some("CLIENT_ERROR invalid mode for ma M token"),
            false,
        ),
        (
            b"ma k Jx\r\n".to_vec(),
            Some("CLIENT_ERROR invalid or duplicate flag"),
            false,
        ),
        (
            b"ms k\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"ms k x\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"ms k 1 MX\r\nx\r\n".to_vec(),
            Some("CLIENT_ERROR invalid mode for ms M token"),
            false,
        ),
        (
            b"ms k 1 MEE\r\nx\r\n".to_vec(),
            Some("CLIENT_ERROR incorrect length for M token"),
            false,
        ),
        (
            b"ms k 1 q\r\nxy\r\n".to_vec(),
            Some("CLIENT_ERROR bad data chunk"),
            false,
        ),
        (
            b"me\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        (
            b"me !!! b\r\n".to_vec(),
            Some("CLIENT_ERROR bad command line format"),
            false,
        ),
        // memcached closes a line that grows past 2048 bytes before its newline; we apply that
        // to the line's length whatever the reads, so splitting cannot change the outcome.
        (long_line.into_bytes(), None, true),
        (b"GET / HTTP/1.1\r\n".to_vec(), None, true),
        (b"POST /x HTTP/1.0\r\n".to_vec(), None, true),
    ];
    for (input, answer, closes) in table {
        let outcome = decode_all(&input);
        let shown = String::from_utf8_lossy(&input)
            .chars()
            .take(60)
            .collect::<String>();
        let Some(Event::Error(err)) = outcome.events.first() else {
            panic!("{shown:?}: expected an error, got {outcome:?}");
        };
        let expected = answer.map(|a| format!("{a}\r\n"));
        assert_eq!(
            err.reply().map(|r| String::from_utf8_lossy(r).into_owned()),
            expected,
            "{shown:?}"
        );
        assert_eq!(err.closes_connection(), closes, "{shown:?}");
        assert_eq!(outcome.closed, closes, "{shown:?}");
    }
    // A long multi-get is not a long line.
    assert!(matches!(
        decode_all(long_get.as_bytes()).events[0],
        Event::Request(_)
    ));
}

#[test]
fn refused_data_is_skipped_not_buffered() {
    let limits = Limits {
        max_item_size: 1024,
        ..Limits::default()
    };
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::from(&b"set big 0 0 5000\r\n"[..]);
    let err = decoder.decode(&mut buf).expect_err("too large");
    assert_eq!(
        err.reply(),
        Some(&b"SERVER_ERROR object too large for cache\r\n"[..])
    );
    assert_eq!(
        err.kind(),
        &RequestErrorKind::TooLarge {
            stale_key: Some(b("big"))
        }
    );
    // The 5002 bytes of data arrive in pieces and are dropped as they come.
    for _ in 0..50 {
        buf.extend_from_slice(&[b'x'; 100]);
        assert_eq!(decoder.decode(&mut buf), Ok(None));
        assert!(buf.is_empty());
    }
    buf.extend_from_slice(b"\r\nget big\r\n");
    assert_eq!(
        decoder.decode(&mut buf),
        Ok(Some(get(GetCommand::Get, 0, &["big"])))
    );

    // Only `set` drops the old value; `add` does not.
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::from(&b"add big 0 0 5000 noreply\r\n"[..]);
    let err = decoder.decode(&mut buf).expect_err("too large");
    assert_eq!(err.kind(), &RequestErrorKind::TooLarge { stale_key: None });
    assert_eq!(err.reply(), None, "noreply hides it");

    // The boundary is memcached's item size.
    let fits = mc_proto::DEFAULT_MAX_ITEM_SIZE - mc_proto::item_size(1, 0, 0);
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(format!("set k 0 0 {fits}\r\n").as_bytes());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    let mut buf = BytesMut::from(format!("set k 0 0 {}\r\n", fits + 1).as_bytes());
    let mut decoder = RequestDecoder::default();
    assert!(decoder.decode(&mut buf).is_err());

    // ms: the error comes after the flags are checked, and the data is skipped too.
    let mut decoder = RequestDecoder::new(limits);
    let mut buf = BytesMut::from(&b"ms big 5000 q\r\n"[..]);
    let err = decoder.decode(&mut buf).expect_err("too large");
    assert_eq!(
        err.reply(),
        Some(&b"SERVER_ERROR object too large for cache\r\n"[..])
    );
    // An ms flag error skips the data block as well.
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(&b"ms k 3 v v\r\nabc\r\nmn\r\n"[..]);
    assert!(decoder.decode(&mut buf).is_err());
    assert_eq!(decoder.decode(&mut buf), Ok(Some(Request::MetaNoop)));
}

#[test]
fn long_multiget_is_bounded() {
    let limits = Limits {
        max_get_line: 10_000,
        ..Limits::default()
    };
    let line = format!("get {}", "k ".repeat(6000));
    let outcome = common::decode_chunks(limits, &[line.as_bytes()]);
    assert!(outcome.closed);
    assert!(matches!(
        &outcome.events[0],
        Event::Error(e) if e.kind() == &RequestErrorKind::GetLineTooLong
    ));
    // Below the bound it waits for the rest of the line, then decodes every key.
    let line = format!("get {}", "k ".repeat(3000));
    let outcome = common::decode_chunks(limits, &[line.as_bytes(), b"\r\n"]);
    let Event::Request(Request::Get(get)) = &outcome.events[0] else {
        panic!("expected a get: {outcome:?}");
    };
    assert_eq!(get.keys.len(), 3000);
}

#[test]
fn pipelined_requests_decode_in_order() {
    let input = b"set a 0 0 1\r\n1\r\nget a b\r\ndelete a noreply\r\nincr n 1\r\nmn\r\n";
    let outcome = decode_all(input);
    assert_eq!(outcome.events.len(), 5);
    assert!(!outcome.closed);
}
