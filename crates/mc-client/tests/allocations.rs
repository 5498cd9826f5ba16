//! What the client allocates per operation, counted on the thread that runs it. A call alone on
//! its connection (one task, as in most tests here) writes its request and reads its answer
//! itself, with no channel: a `get` allocates nothing, a small `set` nothing (one past the
//! inline size: its request's buffer), a 100-key `get_multi` about one per key found; values
//! kept by the caller share read buffers. With other calls in flight a call
//! gets its answer over a channel: one allocation more (`a_get_among_many_allocates_once`).
//!
//! This file is its own test binary so that its counting allocator sees only these tests. The
//! client runs on a current-thread runtime (its connection tasks run on that thread too) and
//! only that thread's allocations are counted: the in-process server's threads are not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;
use mc_client::Client;
use mc_server::{Config, RunningServer};

struct Counting;

thread_local! {
    /// Whether this thread's allocations are counted, and how many were (const initializers:
    /// using them never allocates, so the allocator may). Per thread, so that tests running
    /// side by side do not count each other's.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Count one allocation if this thread's are counted.
fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: delegates to the system allocator; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while `work` runs to completion.
async fn allocations_of(work: impl std::future::Future<Output = ()>) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTED.with(|c| c.set(true));
    work.await;
    COUNTED.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

/// An in-process server, and a client of it on a current-thread runtime (this thread).
struct Setup {
    server: RunningServer,
    runtime: tokio::runtime::Runtime,
    client: Client,
}

impl Setup {
    fn new() -> Setup {
        let server = RunningServer::start(Config::ephemeral()).expect("server");
        let addr = server.local_addr().expect("addr").to_string();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = {
            let _entered = runtime.enter();
            Client::new([addr.as_str()])
        };
        Setup {
            server,
            runtime,
            client,
        }
    }

    /// With `key` stored and read 200 times: the connection is open and its buffers and
    /// queues have reached their size.
    fn with_key_read() -> Setup {
        let setup = Setup::new();
        setup.runtime.block_on(async {
            assert!(setup
                .client
                .set("key", "a 32-byte value, more or less..", 0)
                .await
                .expect("answered"));
            for _ in 0..200 {
                setup.client.get::<Bytes>("key").await.expect("answered");
            }
        });
        setup
    }

    fn finish(self) {
        drop(self.client);
        self.server.shutdown();
    }
}

const N: usize = 2_000;

#[test]
fn a_get_allocates_nothing() {
    let setup = Setup::with_key_read();
    let client = &setup.client;
    setup.runtime.block_on(async {
        let mut hits = 0;
        let allocations = allocations_of(async {
            for _ in 0..N {
                if client
                    .get::<Bytes>("key")
                    .await
                    .expect("answered")
                    .is_some()
                {
                    hits += 1;
                }
            }
        })
        .await;
        assert_eq!(hits, N);
        // At most a rare buffer growing, shared by many calls.
        assert!(
            allocations <= N / 100,
            "{allocations} allocations for {N} gets ({:.2} each)",
            allocations as f64 / N as f64
        );
        // A miss takes the same path.
        let misses = allocations_of(async {
            for _ in 0..N {
                assert!(client
                    .get::<Bytes>("absent")
                    .await
                    .expect("answered")
                    .is_none());
            }
        })
        .await;
        assert!(
            misses <= N / 100,
            "{misses} allocations for {N} missing gets"
        );
    });
    setup.finish();
}

/// Values are slices of the connection's read buffer and keep it alive. A caller that keeps
/// every value it reads must not cost a fresh read buffer per `get`: the buffer is replaced
/// only once nearly full, so kept values share it.
#[test]
fn kept_values_share_read_buffers() {
    let setup = Setup::with_key_read();
    let client = &setup.client;
    setup.runtime.block_on(async {
        let mut kept = Vec::with_capacity(N);
        let allocations = allocations_of(async {
            for _ in 0..N {
                kept.push(client.get::<Bytes>("key").await.expect("answered"));
            }
        })
        .await;
        assert_eq!(kept.iter().flatten().count(), N);
        // A new read buffer about every 200 answers of ~60 bytes (18 measured); a buffer per
        // get would make it N.
        assert!(
            allocations <= N / 50,
            "{allocations} allocations for {N} gets whose values were kept"
        );
    });
    setup.finish();
}

#[test]
fn a_small_set_allocates_nothing_and_never_copies_the_key_or_value() {
    let setup = Setup::new();
    let client = &setup.client;
    setup.runtime.block_on(async {
        let small = Bytes::from_static(b"a 32-byte value, more or less..");
        let large = Bytes::from(vec![b'v'; 4096]);
        for _ in 0..200 {
            assert!(client.set("key", &small, 0).await.expect("answered"));
            assert!(client.set("big", &large, 0).await.expect("answered"));
        }
        let small_sets = allocations_of(async {
            for _ in 0..N {
                assert!(client.set("key", &small, 0).await.expect("answered"));
            }
        })
        .await;
        // Key and value are encoded straight into the request on the stack, and a call alone
        // on its connection writes it from there.
        assert!(
            small_sets <= N / 50,
            "{small_sets} allocations for {N} sets of 32 bytes ({:.2} each)",
            small_sets as f64 / N as f64
        );
        let large_sets = allocations_of(async {
            for _ in 0..N {
                assert!(client.set("big", &large, 0).await.expect("answered"));
            }
        })
        .await;
        // The request's own buffer, sized once.
        assert!(
            large_sets <= N + N / 50,
            "{large_sets} allocations for {N} sets of 4 KiB ({:.2} each)",
            large_sets as f64 / N as f64
        );
    });
    setup.finish();
}

/// A large value is written from the request's own buffer: not copied again into the
/// connection's write queue, which would grow past the size it keeps and be allocated anew
/// for every such set.
#[test]
fn a_large_set_allocates_only_its_request() {
    let setup = Setup::new();
    let client = &setup.client;
    setup.runtime.block_on(async {
        let large = Bytes::from(vec![b'v'; 256 * 1024]);
        for _ in 0..20 {
            assert!(client.set("large", &large, 0).await.expect("answered"));
        }
        const SETS: usize = 200;
        let allocations = allocations_of(async {
            for _ in 0..SETS {
                assert!(client.set("large", &large, 0).await.expect("answered"));
            }
        })
        .await;
        // The request's own buffer, sized once.
        assert!(
            allocations <= SETS + SETS / 50,
            "{allocations} allocations for {SETS} sets of 256 KiB"
        );
    });
    setup.finish();
}

/// With many calls in flight on one connection, a `get` gets its answer from the reader task
/// over a channel: one allocation, and no more.
#[test]
fn a_get_among_many_allocates_once() {
    let setup = Setup::with_key_read();
    let client = &setup.client;
    const TASKS: usize = 8;
    setup.runtime.block_on(async {
        let allocations = allocations_of(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let client = client.clone();
                    tokio::spawn(async move {
                        for _ in 0..N / TASKS {
                            client.get::<Bytes>("key").await.expect("answered");
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
        })
        .await;
        // The channel per get; the tasks themselves and their join handles are a few more.
        assert!(
            allocations <= N + N / 50 + 4 * TASKS,
            "{allocations} allocations for {N} gets from {TASKS} tasks ({:.2} each)",
            allocations as f64 / N as f64
        );
    });
    setup.finish();
}

#[test]
fn a_100_key_get_multi_allocates_about_once_per_key() {
    let setup = Setup::new();
    let client = &setup.client;
    let keys: Vec<String> = (0..100).map(|i| format!("multi:{i:03}")).collect();
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    setup.runtime.block_on(async {
        for key in &keys {
            assert!(client.set(key, "v", 0).await.expect("answered"));
        }
        for _ in 0..20 {
            assert_eq!(
                client
                    .get_multi::<Bytes>(&keys)
                    .await
                    .expect("answered")
                    .len(),
                100
            );
        }
        const CALLS: usize = 100;
        let allocations = allocations_of(async {
            for _ in 0..CALLS {
                let found = client.get_multi::<Bytes>(&keys).await.expect("answered");
                assert_eq!(found.len(), 100);
            }
        })
        .await;
        // Per key found: its name in the returned map (the API returns owned `String` keys);
        // the values are slices of the read buffer. Per call, about fifteen (113 measured):
        // the map, the grouping, the encoded request, the list of where the values lie, the
        // matching, a share of a read buffer. Nothing else per key.
        let per_call = allocations as f64 / CALLS as f64;
        assert!(
            per_call <= 118.0,
            "{per_call:.1} allocations per 100-key get_multi"
        );
    });
    setup.finish();
}

/// A multi-key set queues every request on its connection at once (its answers come in that
/// order): the queue takes the whole batch in one allocation, not by doubling as it grows
/// (each doubling copying every value queued so far again).
#[test]
fn a_set_multi_of_large_values_queues_them_in_one_allocation() {
    let setup = Setup::new();
    let client = &setup.client;
    setup.runtime.block_on(async {
        const KEYS: usize = 64;
        let value = Bytes::from(vec![b'v'; 16 * 1024]);
        let names: Vec<String> = (0..KEYS).map(|i| format!("multi:{i}")).collect();
        let items: Vec<(&str, Bytes)> = names.iter().map(|k| (k.as_str(), value.clone())).collect();
        for _ in 0..3 {
            assert!(client
                .set_multi(&items, 0)
                .await
                .expect("answered")
                .is_empty());
        }
        const CALLS: usize = 20;
        let allocations = allocations_of(async {
            for _ in 0..CALLS {
                assert!(client
                    .set_multi(&items, 0)
                    .await
                    .expect("answered")
                    .is_empty());
            }
        })
        .await;
        // Per key: its full name, its encoded request, its answer's channel. Per call about a
        // dozen more (206 in all measured; 213 when the queue grew by doubling).
        let per_call = allocations as f64 / CALLS as f64;
        assert!(
            per_call <= (3 * KEYS + 16) as f64,
            "{per_call:.1} allocations per set_multi of {KEYS} values"
        );
    });
    setup.finish();
}
