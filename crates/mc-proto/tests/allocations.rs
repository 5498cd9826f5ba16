//! Decoding a `get` allocates nothing: keys are slices of the read buffer.
//!
//! This file is its own test binary so that its counting allocator sees only this test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::BytesMut;
use mc_proto::{Request, RequestDecoder};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to the system allocator; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decoding_gets_does_not_allocate_per_request() {
    const N: usize = 10_000;
    let input: Vec<u8> = (0..N)
        .flat_map(|i| format!("get key:{i:06} other:{i}\r\n").into_bytes())
        .collect();
    let mut buf = BytesMut::from(&input[..]);
    let mut decoder = RequestDecoder::default();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut keys = 0;
    while let Ok(Some(request)) = decoder.decode(&mut buf) {
        if let Request::Get(get) = request {
            keys += get.keys.iter().count();
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(keys, 2 * N);
    // One allocation may happen when the buffer first becomes shared; none per request.
    assert!(allocations <= 2, "{allocations} allocations for {N} gets");
}
