//! Decoding throughput: a pipelined buffer of requests, decoded to the end.
//!
//! `cargo bench -p mc-proto --bench decode` (or `cargo xtask bench proto`).

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use mc_proto::{Peeked, Request, RequestDecoder, Response, ResponseDecoder, Value};
use std::hint::black_box;

const REQUESTS: usize = 10_000;

/// `get key:NNNNNN` lines, the smallest common request.
fn gets() -> Vec<u8> {
    (0..REQUESTS)
        .flat_map(|i| format!("get key:{i:06}\r\n").into_bytes())
        .collect()
}

/// 90% gets, 10% sets of 32-byte values, as in the server benchmark.
fn mixed() -> Vec<u8> {
    let value = [b'v'; 32];
    let mut out = Vec::new();
    for i in 0..REQUESTS {
        if i % 10 == 0 {
            out.extend(format!("set key:{i:06} 0 0 32\r\n").into_bytes());
            out.extend_from_slice(&value);
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend(format!("get key:{i:06}\r\n").into_bytes());
        }
    }
    out
}

fn decode_requests(input: &[u8]) -> usize {
    let mut decoder = RequestDecoder::default();
    let mut buf = BytesMut::from(input);
    let mut n = 0;
    while let Ok(Some(request)) = decoder.decode(&mut buf) {
        black_box(&request);
        n += 1;
    }
    n
}

fn bench_requests(c: &mut Criterion) {
    for (name, input) in [("get", gets()), ("mixed_90_10", mixed())] {
        assert_eq!(decode_requests(&input), REQUESTS);
        let mut group = c.benchmark_group(format!("decode_requests/{name}"));
        // The same run, reported as requests per second and as bytes per second.
        for (unit, throughput) in [
            ("requests", Throughput::Elements(REQUESTS as u64)),
            ("bytes", Throughput::Bytes(input.len() as u64)),
        ] {
            group.throughput(throughput);
            group.bench_function(unit, |b| {
                b.iter_batched(
                    || (RequestDecoder::default(), BytesMut::from(&input[..])),
                    |(mut decoder, mut buf)| {
                        while let Ok(Some(request)) = decoder.decode(&mut buf) {
                            black_box(request);
                        }
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        group.finish();
    }
}

fn bench_responses(c: &mut Criterion) {
    let mut wire = BytesMut::new();
    for i in 0..REQUESTS {
        Response::Value(Value {
            key: format!("key:{i:06}").into(),
            flags: 0,
            cas: None,
            data: vec![b'v'; 32].into(),
        })
        .encode(&mut wire);
        Response::End.encode(&mut wire);
    }
    let mut group = c.benchmark_group("decode_responses/value_32b");
    group.throughput(Throughput::Elements(REQUESTS as u64));
    group.bench_function("values", |b| {
        b.iter_batched(
            || (ResponseDecoder::default(), wire.clone()),
            |(mut decoder, mut buf)| {
                while let Ok(Some(response)) = decoder.decode(&mut buf) {
                    black_box(response);
                }
            },
            BatchSize::LargeInput,
        )
    });
    // How a client reads a multi-key answer: items found in place, the buffer cut once.
    group.bench_function("in_place", |b| {
        b.iter_batched(
            || (ResponseDecoder::default(), wire.clone()),
            |(mut decoder, mut buf)| {
                let mut at = 0;
                loop {
                    match decoder.peek_value(&buf[at..]) {
                        Ok(Peeked::Value(span)) => {
                            at += span.end();
                            black_box(span);
                        }
                        Ok(Peeked::Other) => {
                            let _ = black_box(buf.split_to(at).freeze());
                            at = 0;
                            match decoder.decode(&mut buf) {
                                Ok(Some(response)) => {
                                    black_box(response);
                                }
                                _ => break,
                            }
                        }
                        _ => break,
                    }
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_encode(c: &mut Criterion) {
    let requests: Vec<Request> = {
        let mut decoder = RequestDecoder::default();
        let mut buf = BytesMut::from(&mixed()[..]);
        std::iter::from_fn(|| decoder.decode(&mut buf).ok().flatten()).collect()
    };
    let mut group = c.benchmark_group("encode_requests/mixed_90_10");
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("requests", |b| {
        let mut out = BytesMut::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for r in &requests {
                r.encode(&mut out);
            }
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_requests, bench_responses, bench_encode);
criterion_main!(benches);
