//! Store tests: a model-based property test and the behaviours memcached users rely on.

use std::collections::HashMap;

use mc_proto::StoreCommand;
use proptest::prelude::*;

use super::*;

fn big() -> StoreConfig {
    StoreConfig {
        max_bytes: 256 * 1024 * 1024,
        ..StoreConfig::default()
    }
}

fn get(store: &mut Store, key: &[u8], now: u32) -> Option<Vec<u8>> {
    store
        .get(
            key,
            now,
            Access {
                bump: true,
                count_get: true,
                ..Access::default()
            },
        )
        .map(|i| i.value().to_vec())
}

fn set(store: &mut Store, key: &[u8], value: &[u8], exptime: u32, now: u32) -> StoreStatus {
    store.store(
        &Write {
            exptime,
            ..Write::new(StoreCommand::Set, key, value)
        },
        now,
    )
}

#[derive(Debug, Clone)]
enum Op {
    Store(StoreCommand, u8, Vec<u8>, u32, bool),
    Delete(u8),
    Arith(bool, u8, u64),
    Get(u8),
    Touch(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let command = prop::sample::select(StoreCommand::ALL.to_vec());
    let value = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        (0u64..1000).prop_map(|n| n.to_string().into_bytes()),
    ];
    prop_oneof![
        (command, 0u8..8, value, any::<u32>(), any::<bool>())
            .prop_map(|(c, k, v, f, right_cas)| Op::Store(c, k, v, f, right_cas)),
        (0u8..8).prop_map(Op::Delete),
        (any::<bool>(), 0u8..8, 0u64..100).prop_map(|(i, k, d)| Op::Arith(i, k, d)),
        (0u8..8).prop_map(Op::Get),
        (0u8..8).prop_map(Op::Touch),
    ]
}

/// (value, flags, cas)
type Model = HashMap<Vec<u8>, (Vec<u8>, u32, u64)>;

proptest! {
    #[test]
    fn store_matches_a_simple_model(ops in prop::collection::vec(op(), 1..200)) {
        let mut store = Store::new(big());
        let mut model: Model = HashMap::new();
        let mut cas = 0u64;
        let now = 10;
        for op in ops {
            match op {
                Op::Store(command, k, value, flags, right_cas) => {
                    let key = vec![b'k', k];
                    let current = model.get(&key).cloned();
                    let given_cas = match (&current, right_cas) {
                        (Some((_, _, c)), true) => *c,
                        _ => 12345,
                    };
                    let given_cas = if command == StoreCommand::Cas { given_cas } else { 0 };
                    let expected = match (command, &current) {
                        (StoreCommand::Set, _) | (StoreCommand::Add, None) => {
                            cas += 1;
                            model.insert(key.clone(), (value.clone(), flags, cas));
                            StoreStatus::Stored(cas)
                        }
                        (StoreCommand::Add, Some(_)) => StoreStatus::NotStored,
                        (StoreCommand::Replace, Some(_)) => {
                            cas += 1;
                            model.insert(key.clone(), (value.clone(), flags, cas));
                            StoreStatus::Stored(cas)
                        }
                        (StoreCommand::Replace | StoreCommand::Append | StoreCommand::Prepend, None) => StoreStatus::NotStored,
                        (StoreCommand::Append, Some((old, f, _))) => {
                            cas += 1;
                            model.insert(key.clone(), ([old.clone(), value.clone()].concat(), *f, cas));
                            StoreStatus::Stored(cas)
                        }
                        (StoreCommand::Prepend, Some((old, f, _))) => {
                            cas += 1;
                            model.insert(key.clone(), ([value.clone(), old.clone()].concat(), *f, cas));
                            StoreStatus::Stored(cas)
                        }
                        (StoreCommand::Cas, None) => StoreStatus::NotFound,
                        (StoreCommand::Cas, Some((_, _, c))) if *c == given_cas => {
                            cas += 1;
                            model.insert(key.clone(), (value.clone(), flags, cas));
                            StoreStatus::Stored(cas)
                        }
                        (StoreCommand::Cas, Some(_)) => StoreStatus::Exists,
                    };
                    prop_assert_eq!(store.store(&Write { flags, cas: given_cas, ..Write::new(command, &key, &value) }, now), expected);
                }
                Op::Delete(k) => {
                    let key = vec![b'k', k];
                    let expected = if model.remove(&key).is_some() { DeleteStatus::Deleted } else { DeleteStatus::NotFound };
                    prop_assert_eq!(store.delete(&key, None, now), expected);
                }
                Op::Arith(incr, k, delta) => {
                    let key = vec![b'k', k];
                    let got = store.arithmetic(&key, incr, delta, None, now);
                    match model.get_mut(&key) {
                        None => prop_assert_eq!(got, ArithStatus::NotFound),
                        Some((value, _, c)) => match mc_proto::numbers::parse_u64(value).filter(|_| !value.is_empty()) {
                            None => prop_assert_eq!(got, ArithStatus::NonNumeric),
                            Some(n) => {
                                let new = if incr { n.wrapping_add(delta) } else { n.saturating_sub(delta) };
                                let digits = new.to_string().into_bytes();
                                *value = if digits.len() <= value.len() {
                                    let mut padded = digits.clone();
                                    padded.resize(value.len(), b' ');
                                    padded
                                } else {
                                    digits
                                };
                                cas += 1;
                                *c = cas;
                                let ArithStatus::Done { value: v, cas: got_cas, .. } = got else {
                                    return Err(TestCaseError::fail(format!("{got:?}")));
                                };
                                prop_assert_eq!((v, got_cas), (new, cas));
                            }
                        },
                    }
                }
                Op::Get(k) | Op::Touch(k) => {
                    let key = vec![b'k', k];
                    let item = store.get(&key, now, Access::default()).map(|i| (i.value().to_vec(), i.flags(), i.cas()));
                    prop_assert_eq!(item, model.get(&key).cloned());
                }
            }
            prop_assert_eq!(store.len(), model.len());
        }
    }
}

#[test]
fn expiry_and_touch() {
    let mut store = Store::new(big());
    set(&mut store, b"a", b"1", 15, 10);
    assert_eq!(get(&mut store, b"a", 14), Some(b"1".to_vec()));
    assert_eq!(get(&mut store, b"a", 15), None, "expires at its time");
    assert_eq!(store.stats().get_expired, 1);
    set(&mut store, b"b", b"2", 15, 10);
    assert!(store.touch(b"b", 100, 12));
    assert_eq!(get(&mut store, b"b", 50), Some(b"2".to_vec()));
    assert!(!store.touch(b"missing", 100, 12));
    set(&mut store, b"c", b"3", 1, 10);
    assert_eq!(get(&mut store, b"c", 10), None, "time 1 is always past");
}

#[test]
fn flush_now_and_later() {
    let mut store = Store::new(big());
    set(&mut store, b"a", b"1", 0, 10);
    store.flush(None, 10);
    assert_eq!(get(&mut store, b"a", 10), None);
    set(&mut store, b"b", b"2", 0, 10);
    assert_eq!(
        get(&mut store, b"b", 10),
        Some(b"2".to_vec()),
        "stored after the flush"
    );
    store.flush(Some(20), 10);
    set(&mut store, b"c", b"3", 0, 15);
    assert_eq!(get(&mut store, b"b", 19), Some(b"2".to_vec()));
    assert_eq!(
        get(&mut store, b"c", 20),
        None,
        "stored before the flush time"
    );
    assert_eq!(get(&mut store, b"b", 20), None);
    set(&mut store, b"d", b"4", 0, 21);
    assert_eq!(get(&mut store, b"d", 21), Some(b"4".to_vec()));
}

#[test]
fn counters_follow_memcached() {
    let mut store = Store::new(big());
    set(&mut store, b"n", b"100", 0, 10);
    assert!(matches!(
        store.arithmetic(b"n", false, 1, None, 10),
        ArithStatus::Done { value: 99, .. }
    ));
    assert_eq!(
        get(&mut store, b"n", 10),
        Some(b"99 ".to_vec()),
        "shorter numbers are padded"
    );
    assert!(matches!(
        store.arithmetic(b"n", true, 1, None, 10),
        ArithStatus::Done { value: 100, .. }
    ));
    assert!(matches!(
        store.arithmetic(b"n", true, 900, None, 10),
        ArithStatus::Done { value: 1000, .. }
    ));
    assert_eq!(
        get(&mut store, b"n", 10),
        Some(b"1000".to_vec()),
        "longer numbers grow"
    );
    set(&mut store, b"m", b"18446744073709551615", 0, 10);
    assert!(matches!(
        store.arithmetic(b"m", true, 1, None, 10),
        ArithStatus::Done { value: 0, .. }
    ));
    assert!(matches!(
        store.arithmetic(b"m", false, 5, None, 10),
        ArithStatus::Done { value: 0, .. }
    ));
    set(&mut store, b"x", b"abc", 0, 10);
    assert_eq!(
        store.arithmetic(b"x", true, 1, None, 10),
        ArithStatus::NonNumeric
    );
    set(&mut store, b"e", b"", 0, 10);
    assert_eq!(
        store.arithmetic(b"e", true, 1, None, 10),
        ArithStatus::NonNumeric
    );
    assert_eq!(
        store.arithmetic(b"none", true, 1, None, 10),
        ArithStatus::NotFound
    );
}

#[test]
fn evicts_least_recently_used_first() {
    let config = StoreConfig {
        max_bytes: 1024 * 1024,
        ..big()
    };
    let mut store = Store::new(config);
    let value = [b'v'; 1000];
    let mut stored = 0;
    // Fill the single page, then keep writing.
    for i in 0..5000u32 {
        let key = format!("key{i}");
        assert!(matches!(
            set(&mut store, key.as_bytes(), &value, 0, 10),
            StoreStatus::Stored(_)
        ));
        stored += 1;
        if i == 10 {
            // Keep key0 hot.
            assert!(get(&mut store, b"key0", 10).is_some());
        }
        if i > 10 && i % 50 == 0 {
            assert!(
                get(&mut store, b"key0", 10).is_some(),
                "a hot key survives at {i}"
            );
        }
    }
    assert_eq!(stored, 5000);
    let stats = store.stats();
    assert!(stats.evictions > 0);
    assert_eq!(stats.evictions as usize + store.len(), 5000);
    assert!(
        get(&mut store, b"key1", 10).is_none(),
        "the coldest key is gone"
    );
    assert!(
        get(&mut store, b"key4999", 10).is_some(),
        "the newest key is there"
    );
    assert!(store.allocated_bytes() <= 1024 * 1024);
    assert!(store.bytes() <= store.allocated_bytes());
}

#[test]
fn no_evict_mode_refuses() {
    let config = StoreConfig {
        max_bytes: 1024 * 1024,
        evict: false,
        ..big()
    };
    let mut store = Store::new(config);
    let value = [b'v'; 1000];
    let mut refused = 0;
    for i in 0..2000u32 {
        if set(&mut store, format!("key{i}").as_bytes(), &value, 0, 10) == StoreStatus::NoMemory {
            refused += 1;
        }
    }
    assert!(refused > 0);
    assert_eq!(store.stats().evictions, 0);
}

#[test]
fn pages_move_to_where_they_are_needed() {
    let config = StoreConfig {
        max_bytes: 2 * 1024 * 1024,
        ..big()
    };
    let mut store = Store::new(config);
    // Fill all memory with small items...
    for i in 0..100_000u32 {
        set(&mut store, format!("small{i}").as_bytes(), b"x", 0, 10);
    }
    // ...then a class that has no page yet still gets to store.
    let big = vec![b'b'; 200_000];
    assert!(matches!(
        set(&mut store, b"big", &big, 0, 10),
        StoreStatus::Stored(_)
    ));
    assert_eq!(get(&mut store, b"big", 10), Some(big));
}

#[test]
fn holds_more_small_items_than_memcached() {
    // memcached 1.6.18 holds 559,232 items of 16-byte keys and 32-byte values at -m 64.
    let mut store = Store::new(StoreConfig::default());
    let value = [b'v'; 32];
    let mut i = 0u64;
    while store.stats().evictions == 0 {
        let key = format!("{i:016}");
        set(&mut store, key.as_bytes(), &value, 0, 10);
        i += 1;
    }
    let held = store.len();
    assert!(held > 559_232, "held {held}");
    println!("items held before the first eviction: {held}");
}

#[test]
fn oversized_items_are_refused() {
    let mut store = Store::new(StoreConfig::default());
    let value = vec![0u8; 2 * 1024 * 1024];
    assert_eq!(set(&mut store, b"k", &value, 0, 10), StoreStatus::TooLarge);
}

fn items_held_before_eviction(config: StoreConfig, value_len: usize) -> usize {
    let mut store = Store::new(config);
    let value = vec![b'v'; value_len];
    let mut i = 0u64;
    while store.stats().evictions == 0 {
        set(&mut store, format!("{i:016}").as_bytes(), &value, 0, 10);
        i += 1;
    }
    store.len()
}

#[test]
fn a_large_item_limit_does_not_shrink_what_small_items_get() {
    // memcached keeps 1 MiB pages whatever -I is, and so do we: -I 16m holds as many 100-byte
    // items in -m 64 as -I 1m does.
    let with = |max_item_size| StoreConfig {
        max_item_size,
        ..StoreConfig::default()
    };
    let one = items_held_before_eviction(with(1024 * 1024), 100);
    let sixteen = items_held_before_eviction(with(16 * 1024 * 1024), 100);
    println!("100-byte items in -m 64: {one} with -I 1m, {sixteen} with -I 16m");
    assert!(sixteen * 100 >= one * 95, "{sixteen} vs {one}");
}

#[test]
fn large_items_share_memory_with_small_ones() {
    let config = StoreConfig {
        max_bytes: 8 * 1024 * 1024,
        max_item_size: 4 * 1024 * 1024,
        ..StoreConfig::default()
    };
    let mut store = Store::new(config.clone());
    let big = |n: u8| vec![n; 3 * 1024 * 1024];
    assert!(matches!(
        set(&mut store, b"big1", &big(1), 0, 10),
        StoreStatus::Stored(_)
    ));
    assert!(matches!(
        set(&mut store, b"big2", &big(2), 0, 10),
        StoreStatus::Stored(_)
    ));
    assert_eq!(get(&mut store, b"big1", 10), Some(big(1)));
    assert!(store.allocated_bytes() <= config.max_bytes);
    // Small items need pages: the least recently used large item makes way.
    for i in 0..20_000u32 {
        set(
            &mut store,
            format!("small{i}").as_bytes(),
            &[b's'; 100],
            0,
            10,
        );
        assert!(store.allocated_bytes() <= config.max_bytes);
    }
    assert_eq!(get(&mut store, b"small19999", 10), Some(vec![b's'; 100]));
    assert!(store.stats().evictions > 0);
    // A large item needs bytes: pages are given back for it.
    assert!(matches!(
        set(&mut store, b"big3", &big(3), 0, 10),
        StoreStatus::Stored(_)
    ));
    assert_eq!(get(&mut store, b"big3", 10), Some(big(3)));
    assert!(store.allocated_bytes() <= config.max_bytes);
    // Items larger than -I are refused, not stored in part.
    let too_big = vec![0u8; 4 * 1024 * 1024];
    assert_eq!(
        set(&mut store, b"huge", &too_big, 0, 10),
        StoreStatus::TooLarge
    );
}

#[test]
fn scans_visit_every_lasting_item_once_while_the_store_changes() {
    let mut store = Store::new(StoreConfig {
        max_bytes: 16 * 1024 * 1024,
        ..StoreConfig::default()
    });
    let sizes = [10usize, 300, 5000, 700_000];
    let mut lasting = std::collections::HashSet::new();
    for i in 0..2000usize {
        // A few large items are enough.
        if i % 4 == 3 && i > 40 {
            continue;
        }
        let key = format!("keep{i}");
        let value = vec![b'k'; sizes[i % sizes.len()]];
        set(&mut store, key.as_bytes(), &value, 0, 10);
        lasting.insert(key.into_bytes());
    }
    set(&mut store, b"expired", b"x", 5, 1);
    let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut cursor = ScanCursor::default();
    let mut round = 0u32;
    loop {
        let mut steps = 97;
        let next = store.scan(
            cursor,
            &mut steps,
            10,
            |_| true,
            |item| {
                *seen.entry(item.key().to_vec()).or_default() += 1;
            },
        );
        // Churn between slices: new items, and deletes of items that do not last.
        for j in 0..20 {
            let key = format!("churn{round}-{j}");
            set(&mut store, key.as_bytes(), &[b'c'; 64], 0, 10);
            if j % 2 == 0 {
                store.delete(key.as_bytes(), None, 10);
            }
        }
        round += 1;
        match next {
            Some(c) => cursor = c,
            None => break,
        }
    }
    for key in &lasting {
        assert_eq!(seen.get(key), Some(&1), "{}", String::from_utf8_lossy(key));
    }
    assert!(seen.values().all(|&n| n == 1), "no item twice");
    assert!(
        !seen.contains_key(&b"expired"[..]),
        "expired items are skipped"
    );
}

#[test]
fn scans_can_keep_to_some_classes() {
    let mut store = Store::new(StoreConfig::default());
    set(&mut store, b"small", b"x", 0, 10);
    set(&mut store, b"big", &vec![b'b'; 600_000], 0, 10);
    let large = store.class_count() - 1;
    let mut listed = Vec::new();
    let mut steps = usize::MAX;
    let done = store.scan(
        ScanCursor::default(),
        &mut steps,
        10,
        |c| c == large,
        |item| {
            listed.push(item.key().to_vec());
        },
    );
    assert_eq!(done, None);
    assert_eq!(listed, vec![b"big".to_vec()]);
}

#[test]
fn slabs_reassign_moves_a_page_as_memcached_answers() {
    let mut store = Store::new(big());
    let value = vec![b'x'; 100];
    // Two pages' worth of items of one class.
    let class = store.class_for_item(8, value.len(), 0);
    let per_page = PAGE_SIZE / store.slabs.classes()[class].chunk_size;
    for i in 0..per_page + 10 {
        set(&mut store, format!("k{i:06}").as_bytes(), &value, 0, 10);
    }
    let id = class as i64 + 1;
    let other = if class == 0 { 2 } else { 1 };
    assert_eq!(store.reassign(id, id, 10, 1), Reassign::Same);
    assert_eq!(store.reassign(0, other, 10, 1), Reassign::BadClass);
    assert_eq!(store.reassign(id, 10_000, 10, 1), Reassign::BadClass);
    assert_eq!(store.reassign(other, id, 10, 1), Reassign::NoSpare);
    let before = store.len();
    assert_eq!(store.reassign(id, other, 10, 1), Reassign::Moved);
    let stats = store.stats();
    assert_eq!(stats.slabs_moved, 1);
    assert!(stats.slab_reassign_evictions > 0);
    assert_eq!(
        store.len() as u64,
        before as u64 - stats.slab_reassign_evictions
    );
    let pages = |store: &Store, c: usize| store.slabs.classes()[c].pages.len();
    assert_eq!(pages(&store, class), 1);
    assert_eq!(pages(&store, (other - 1) as usize), 1);
    // -1 picks the class with the most pages; 0 gives the page back to the pool.
    for i in 0..per_page + 10 {
        set(&mut store, format!("again{i:06}").as_bytes(), &value, 0, 10);
    }
    assert_eq!(store.reassign(-1, 0, 10, 1), Reassign::Moved);
    assert_eq!(store.free_pages(), 1);
}

#[test]
fn the_crawler_removes_dead_items_and_counts_per_class() {
    let mut store = Store::new(big());
    for i in 0..100 {
        let exptime = if i % 2 == 0 { 20 } else { 0 };
        set(&mut store, format!("k{i}").as_bytes(), b"v", exptime, 10);
    }
    let mut checked = vec![0; store.class_count()];
    let mut cursor = ScanCursor::default();
    loop {
        let mut steps = 7;
        match store.crawl(cursor, &mut steps, 30, |_| true, 0, &mut checked) {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let stats = store.stats();
    assert_eq!(stats.crawler_reclaimed, 50);
    assert_eq!(stats.crawler_items_checked, 100);
    assert_eq!(store.len(), 50);
    let class = store.class_for_item(3, 1, 0);
    let counters = store.class_stats(30)[0].counters;
    assert_eq!(store.class_stats(30)[0].id, class + 1);
    assert_eq!(counters.crawler_reclaimed, 50);
    assert_eq!(counters.expired_unfetched, 50);
    // tocrawl bounds the items looked at per class.
    let mut checked = vec![0; store.class_count()];
    let mut steps = usize::MAX;
    store.crawl(
        ScanCursor::default(),
        &mut steps,
        30,
        |_| true,
        10,
        &mut checked,
    );
    assert_eq!(checked[class], 10);
}

#[test]
fn per_class_counters_and_the_size_histogram() {
    let mut store = Store::new(big());
    set(&mut store, b"a", b"1", 0, 10);
    store.track_sizes(true);
    set(&mut store, b"b", b"22", 0, 10);
    set(&mut store, b"c", &[b'c'; 100], 0, 10);
    assert!(get(&mut store, b"b", 10).is_some());
    assert!(get(&mut store, b"zz", 10).is_none());
    assert_eq!(store.delete(b"a", None, 10), DeleteStatus::Deleted);
    let sizes: Vec<(usize, u64)> = store.sizes().expect("tracking").nonzero().collect();
    // `a` was stored before tracking began: not counted, even when it goes.
    let b_size = item::size(1, 2, 0).div_ceil(SIZE_BUCKET) * SIZE_BUCKET;
    let c_size = item::size(1, 100, 0).div_ceil(SIZE_BUCKET) * SIZE_BUCKET;
    assert_eq!(sizes, vec![(b_size, 1), (c_size, 1)]);
    let small = store.class_for_item(1, 2, 0);
    let counters = store
        .class_stats(10)
        .into_iter()
        .find(|c| c.id == small + 1)
        .expect("class")
        .counters;
    assert_eq!(counters.get_hits, 1);
    assert_eq!(counters.cmd_set, 2);
    assert_eq!(counters.delete_hits, 1);
    assert_eq!(counters.mem_requested, item::size(1, 2, 0) as u64);
    assert_eq!(
        store.last_lookup(),
        Lookup::Found {
            class: small,
            len: 1
        }
    );
    store.track_sizes(false);
    assert!(store.sizes().is_none());
}

#[test]
fn a_stale_handle_is_refused_not_followed() {
    let mut store = Store::new(big());
    set(&mut store, b"k", b"v1", 0, 10);
    let handle = store
        .get(b"k", 10, Access::default())
        .expect("present")
        .handle();
    assert!(store.set_exptime(handle, 100));
    assert_eq!(store.item(handle).map(|i| i.exptime()), Some(100));
    // Replaced: the chunk may be reused, but the handle names the old item.
    set(&mut store, b"k", b"v2", 0, 10);
    assert!(store.item(handle).is_none());
    assert!(!store.mark(handle, STALE));
    assert!(!store.set_exptime(handle, 5));
    assert_eq!(get(&mut store, b"k", 10), Some(b"v2".to_vec()));
}
