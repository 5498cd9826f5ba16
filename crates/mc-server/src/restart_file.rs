//! The restartable cache (`-e PATH`, memcached's memory file): on a graceful stop the server
//! writes every live item to PATH; the next start with the same PATH puts them back, with
//! their flags, CAS uniques and expiry times.
//!
//! Integrity first. The file is written to `PATH.tmp`, synced, then renamed over PATH, so PATH
//! is either a complete save or absent; a save cut short (a crash, SIGKILL) leaves only the
//! `.tmp`, which the next start ignores and removes. Every part is checksummed (CRC-32): the
//! header, each segment of records, and a trailer that counts them. A start that meets a
//! missing, foreign, damaged or truncated file, another format version, or other `-m`/`-I`,
//! starts empty and says why in one warn line; a file is never half-trusted. PATH is removed
//! once read, so a later crash cannot bring back a state older than what clients have since
//! written.
//!
//! Layout, little-endian:
//! - header: `MCSRVRST`, format (u32), `-m` in bytes (u64), `-I` (u64), the Unix time of the
//!   save (i64), the last CAS unique handed out (u64), the seeds of the key hash (4 × u64),
//!   CRC-32 of the preceding bytes (u32);
//! - segments: payload length (u32), records (u32), CRC-32 of the payload (u32), payload;
//!   a record is CAS (u64), expiry as a Unix time, 0 for never (i64), flags (u32), key length
//!   (u8), value length (u32), key, value;
//! - trailer: `MCSRVEND`, segments (u64), records (u64), CRC-32 of the preceding 24 bytes.
//!
//! The file holds the cache's contents and the seeds of its key hash, so it is created
//! readable and writable by the server's user only (0600), as memcached's is. The seeds put
//! every key back in the shard it was saved from, so the shards need the pages they had and a
//! full cache comes back whole.
//!
//! Expiry is kept as wall-clock time: an item whose time passed while the server was down is
//! not restored, and a relative TTL goes on counting. The CAS counter resumes above every
//! restored unique. CLOCK eviction keeps no order of use, so none is saved: restored items
//! start unreferenced.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::clock::{unix_now, Clock};
use crate::storage::ScanCursor;
use crate::store_shards::{HashSeeds, StoreShards};

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"MCSRVRST";
/// The trailer's first bytes.
const END: &[u8; 8] = b"MCSRVEND";
/// The layout version this server writes and reads.
const FORMAT: u32 = 1;
/// Payload bytes per segment before it is closed (records are never split).
const SEGMENT: usize = 1 << 20;
/// Bytes of the header.
const HEADER: usize = 8 + 4 + 8 + 8 + 8 + 8 + 4 * 8 + 4;
/// Fixed bytes of a record before its key and value.
const RECORD_HEAD: usize = 8 + 8 + 4 + 1 + 4;

/// The settings a file must have been saved with to be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `-m`, in bytes.
    pub max_bytes: u64,
    /// `-I`, in bytes.
    pub item_size_max: u64,
}

/// What a save wrote.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    /// Items written.
    pub items: u64,
    /// Size of the file.
    pub bytes: u64,
    /// Seconds the save took.
    pub seconds: f64,
}

/// What a restore put back.
#[derive(Debug, Clone, Copy)]
pub struct Restored {
    /// Items restored.
    pub items: u64,
    /// Items whose expiry passed while the server was down (not restored).
    pub expired: u64,
    /// Items this server could not take (larger than its `-I`, or beyond its memory).
    pub dropped: u64,
    /// Seconds the restore took.
    pub seconds: f64,
}

/// Why a file was not restored; the cache then starts empty.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No file: a first start, or the last stop was not graceful.
    #[error("no restart file at {0}: the cache starts empty")]
    Missing(PathBuf),
    /// A save was cut short.
    #[error("a save to {0} was interrupted (only its .tmp exists): the cache starts empty")]
    Interrupted(PathBuf),
    /// The file could not be read.
    #[error("cannot read the restart file {0}: {1}; the cache starts empty")]
    Unreadable(PathBuf, std::io::Error),
    /// Not a file this server wrote.
    #[error("{0} is not an mc-server restart file: the cache starts empty")]
    Foreign(PathBuf),
    /// Another layout version.
    #[error(
        "{path} has format version {found}, this server reads {FORMAT}: the cache starts empty"
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// Saved with other `-m`/`-I`.
    #[error("{path} was saved with -m {saved_mb} MiB -I {saved_i} bytes, this server runs with -m {now_mb} MiB -I {now_i} bytes: the cache starts empty")]
    Settings {
        /// The file.
        path: PathBuf,
        /// `-m` of the save, MiB.
        saved_mb: u64,
        /// `-I` of the save.
        saved_i: u64,
        /// `-m` now, MiB.
        now_mb: u64,
        /// `-I` now.
        now_i: u64,
    },
    /// A checksum or count does not match, or the file ends early or runs on.
    #[error("{path} is damaged ({what}): the cache starts empty")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What was found wrong.
        what: &'static str,
    },
}

/// The temporary file a save writes before renaming it over `path`.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Write every live item of `cache` to `path` (through `path.tmp`, synced, then renamed; a
/// save that fails removes its `.tmp`).
pub fn save(
    cache: &StoreShards,
    clock: &Clock,
    settings: Settings,
    path: &Path,
) -> std::io::Result<Saved> {
    let began = Instant::now();
    let tmp = temporary(path);
    let written = write_file(cache, clock, settings, &tmp).and_then(|(items, bytes)| {
        std::fs::rename(&tmp, path)?;
        Ok((items, bytes))
    });
    match written {
        Ok((items, bytes)) => Ok(Saved {
            items,
            bytes,
            seconds: began.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Write the whole file at `tmp` and sync it; returns the items written and the file's size.
fn write_file(
    cache: &StoreShards,
    clock: &Clock,
    settings: Settings,
    tmp: &Path,
) -> std::io::Result<(u64, u64)> {
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)?
    };
    let mut out = Segments {
        out: BufWriter::with_capacity(1 << 20, file),
        payload: Vec::with_capacity(SEGMENT + 4096),
        in_payload: 0,
        segments: 0,
        records: 0,
    };
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT.to_le_bytes());
    header.extend_from_slice(&settings.max_bytes.to_le_bytes());
    header.extend_from_slice(&settings.item_size_max.to_le_bytes());
    header.extend_from_slice(&unix_now().to_le_bytes());
    header.extend_from_slice(&cache.last_cas().to_le_bytes());
    for seed in cache.seeds() {
        header.extend_from_slice(&seed.to_le_bytes());
    }
    header.extend_from_slice(&crc32fast::hash(&header).to_le_bytes());
    out.out.write_all(&header)?;

    let now = clock.now();
    for shard in 0..cache.shard_count() {
        let mut store = cache.shard(shard);
        let mut cursor = Some(ScanCursor::default());
        while let Some(at) = cursor {
            let mut steps = 4096;
            cursor = store.scan(
                at,
                &mut steps,
                now,
                |_| true,
                |item| {
                    let exptime = match item.exptime() {
                        0 => 0,
                        at => clock.to_unix(at),
                    };
                    out.push(&item, exptime);
                },
            );
            if out.payload.len() >= SEGMENT {
                out.close_segment()?;
            }
        }
    }
    out.close_segment()?;
    let mut trailer = Vec::with_capacity(28);
    trailer.extend_from_slice(END);
    trailer.extend_from_slice(&out.segments.to_le_bytes());
    trailer.extend_from_slice(&out.records.to_le_bytes());
    trailer.extend_from_slice(&crc32fast::hash(&trailer).to_le_bytes());
    out.out.write_all(&trailer)?;
    let file = out.out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((out.records, file.metadata()?.len()))
}

/// The file's records, gathered into checksummed segments as they are written.
struct Segments {
    out: BufWriter<File>,
    /// Records of the segment not yet written.
    payload: Vec<u8>,
    /// How many records `payload` holds.
    in_payload: u32,
    /// Segments written.
    segments: u64,
    /// Records written or in `payload`.
    records: u64,
}

impl Segments {
    /// Add one item's record; `exptime` is its expiry as a Unix time (0: never).
    fn push(&mut self, item: &crate::storage::Item<'_>, exptime: i64) {
        let (key, value) = (item.key(), item.value());
        let payload = &mut self.payload;
        payload.extend_from_slice(&item.internal_cas().to_le_bytes());
        payload.extend_from_slice(&exptime.to_le_bytes());
        payload.extend_from_slice(&item.flags().to_le_bytes());
        // Keys are at most 250 bytes and values at most -I, checked when stored.
        payload.push(key.len() as u8);
        payload.extend_from_slice(&(value.len() as u32).to_le_bytes());
        payload.extend_from_slice(key);
        payload.extend_from_slice(value);
        self.in_payload += 1;
        self.records += 1;
    }

    /// Write the records gathered so far as one segment (nothing when there are none).
    fn close_segment(&mut self) -> std::io::Result<()> {
        if self.in_payload == 0 {
            return Ok(());
        }
        let len = u32::try_from(self.payload.len()).map_err(std::io::Error::other)?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.in_payload.to_le_bytes())?;
        self.out
            .write_all(&crc32fast::hash(&self.payload).to_le_bytes())?;
        self.out.write_all(&self.payload)?;
        self.payload.clear();
        self.in_payload = 0;
        self.segments += 1;
        Ok(())
    }
}

/// Reads exactly, telling a short file apart from other errors.
struct Source {
    input: BufReader<File>,
    path: PathBuf,
}

impl Source {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Refused> {
        self.input.read_exact(buf).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => self.damaged("it ends early"),
            _ => Refused::Unreadable(self.path.clone(), e),
        })
    }

    fn damaged(&self, what: &'static str) -> Refused {
        Refused::Damaged {
            path: self.path.clone(),
            what,
        }
    }
}

/// Little-endian fields from a byte slice the caller has sized.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
}

fn seeds_from(fields: &mut Fields<'_>) -> Option<HashSeeds> {
    Some([fields.u64()?, fields.u64()?, fields.u64()?, fields.u64()?])
}

/// The key-hash seeds saved in the header of the file at `path`, when it has an intact header
/// of this format: the cache that restores it must be made with them.
pub fn saved_seeds(path: &Path) -> Option<HashSeeds> {
    let mut header = [0u8; HEADER];
    File::open(path).ok()?.read_exact(&mut header).ok()?;
    let (body, crc) = header.split_at(HEADER - 4);
    if &body[..8] != MAGIC || u32::from_le_bytes(crc.try_into().ok()?) != crc32fast::hash(body) {
        return None;
    }
    let mut fields = Fields(&body[8..]);
    if fields.u32()? != FORMAT {
        return None;
    }
    for _ in 0..4 {
        fields.u64()?;
    }
    seeds_from(&mut fields)
}

/// Put the items saved at `path` back into `cache` (which must be empty), then remove the
/// file. On any refusal the cache is left empty.
pub fn restore(
    cache: &StoreShards,
    clock: &Clock,
    settings: Settings,
    path: &Path,
) -> Result<Restored, Refused> {
    let tmp = temporary(path);
    let interrupted = tmp.exists();
    let _ = std::fs::remove_file(&tmp);
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if interrupted {
                Refused::Interrupted(path.to_path_buf())
            } else {
                Refused::Missing(path.to_path_buf())
            });
        }
        Err(e) => return Err(Refused::Unreadable(path.to_path_buf(), e)),
    };
    let result = read_into(cache, clock, settings, path, file);
    // Read once: a later crash must not bring this state back.
    let _ = std::fs::remove_file(path);
    if result.is_err() {
        cache.clear();
    }
    result
}

fn read_into(
    cache: &StoreShards,
    clock: &Clock,
    settings: Settings,
    path: &Path,
    file: File,
) -> Result<Restored, Refused> {
    let began = Instant::now();
    let mut source = Source {
        input: BufReader::with_capacity(1 << 20, file),
        path: path.to_path_buf(),
    };
    let mut header = [0u8; HEADER];
    source
        .input
        .read_exact(&mut header[..8])
        .map_err(|_| Refused::Foreign(path.to_path_buf()))?;
    if &header[..8] != MAGIC {
        return Err(Refused::Foreign(path.to_path_buf()));
    }
    source.fill(&mut header[8..])?;
    let body = header.len() - 4;
    let mut fields = Fields(&header[8..]);
    let (
        Some(format),
        Some(max_bytes),
        Some(item_size_max),
        Some(_saved_at),
        Some(last_cas),
        Some(seeds),
        Some(crc),
    ) = (
        fields.u32(),
        fields.u64(),
        fields.u64(),
        fields.i64(),
        fields.u64(),
        seeds_from(&mut fields),
        fields.u32(),
    )
    else {
        return Err(source.damaged("short header"));
    };
    if crc != crc32fast::hash(&header[..body]) {
        return Err(source.damaged("header checksum"));
    }
    if format != FORMAT {
        return Err(Refused::Version {
            path: path.to_path_buf(),
            found: format,
        });
    }
    if seeds != cache.seeds() {
        // The cache must have been made with the file's seeds (see `saved_seeds`).
        return Err(source.damaged("hash seeds differ from the cache's"));
    }
    let saved = Settings {
        max_bytes,
        item_size_max,
    };
    if saved != settings {
        return Err(Refused::Settings {
            path: path.to_path_buf(),
            saved_mb: saved.max_bytes >> 20,
            saved_i: saved.item_size_max,
            now_mb: settings.max_bytes >> 20,
            now_i: settings.item_size_max,
        });
    }

    let (now, wall) = (clock.now(), unix_now());
    let epoch = clock.to_unix(0);
    let mut report = Restored {
        items: 0,
        expired: 0,
        dropped: 0,
        seconds: 0.0,
    };
    let (mut segments, mut records, mut highest_cas) = (0u64, 0u64, last_cas);
    let mut payload = Vec::new();
    loop {
        let mut head = [0u8; 12];
        source.fill(&mut head[..8])?;
        if &head[..8] == END {
            let mut rest = [0u8; 20];
            source.fill(&mut rest)?;
            let mut fields = Fields(&rest);
            let (Some(count_segments), Some(count_records), Some(crc)) =
                (fields.u64(), fields.u64(), fields.u32())
            else {
                return Err(source.damaged("short trailer"));
            };
            let mut covered = Vec::with_capacity(24);
            covered.extend_from_slice(END);
            covered.extend_from_slice(&rest[..16]);
            if crc != crc32fast::hash(&covered) {
                return Err(source.damaged("trailer checksum"));
            }
            if count_segments != segments || count_records != records {
                return Err(source.damaged("segments missing"));
            }
            let mut extra = [0u8; 1];
            if source
                .input
                .read(&mut extra)
                .map_err(|e| Refused::Unreadable(path.to_path_buf(), e))?
                != 0
            {
                return Err(source.damaged("bytes after the trailer"));
            }
            break;
        }
        source.fill(&mut head[8..])?;
        let mut fields = Fields(&head);
        let (Some(len), Some(count), Some(crc)) = (fields.u32(), fields.u32(), fields.u32()) else {
            return Err(source.damaged("short segment header"));
        };
        // A segment is at most SEGMENT plus one record (a value of at most -I).
        let limit = SEGMENT as u64 + RECORD_HEAD as u64 + 255 + settings.item_size_max;
        if u64::from(len) > limit {
            return Err(source.damaged("segment length"));
        }
        payload.resize(len as usize, 0);
        source.fill(&mut payload)?;
        if crc != crc32fast::hash(&payload) {
            return Err(source.damaged("segment checksum"));
        }
        let mut fields = Fields(&payload);
        for _ in 0..count {
            let (Some(cas), Some(exptime), Some(flags), Some(key_len), Some(value_len)) = (
                fields.u64(),
                fields.i64(),
                fields.u32(),
                fields.u8(),
                fields.u32(),
            ) else {
                return Err(source.damaged("record runs past its segment"));
            };
            let (Some(key), Some(value)) = (
                fields.bytes(usize::from(key_len)),
                fields.bytes(value_len as usize),
            ) else {
                return Err(source.damaged("record runs past its segment"));
            };
            records += 1;
            highest_cas = highest_cas.max(cas);
            let server_time = match exptime {
                0 => 0,
                at if at <= wall => {
                    report.expired += 1;
                    continue;
                }
                at => u32::try_from(at - epoch).unwrap_or(u32::MAX),
            };
            if cache
                .for_key(key)
                .restore(key, value, flags, server_time, cas, now)
            {
                report.items += 1;
            } else {
                report.dropped += 1;
            }
        }
        if !fields.0.is_empty() {
            return Err(source.damaged("segment longer than its records"));
        }
        segments += 1;
    }
    cache.raise_cas(highest_cas);
    report.seconds = began.elapsed().as_secs_f64();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{StoreConfig, StoreStatus, Write as StoreWrite};
    use mc_proto::StoreCommand;

    const SEEDS: HashSeeds = [1, 2, 3, 4];

    fn cache() -> StoreShards {
        StoreShards::with_seeds(
            StoreConfig {
                max_bytes: 16 << 20,
                ..StoreConfig::default()
            },
            2,
            SEEDS,
        )
    }

    const SETTINGS: Settings = Settings {
        max_bytes: 16 << 20,
        item_size_max: 1 << 20,
    };

    fn scratch(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("mc-restart-unit-{}-{name}", std::process::id()))
    }

    /// A saved file of a few items, as bytes.
    fn saved_bytes(clock: &Clock, path: &Path) -> Vec<u8> {
        let cache = cache();
        for (i, value) in [&b"x"[..], b"", &[7u8; 3000]].iter().enumerate() {
            let key = format!("k{i}");
            let write = StoreWrite {
                flags: i as u32,
                ..StoreWrite::new(StoreCommand::Set, key.as_bytes(), value)
            };
            assert!(matches!(
                cache.for_key(key.as_bytes()).store(&write, clock.now()),
                StoreStatus::Stored(_)
            ));
        }
        let saved = save(&cache, clock, SETTINGS, path).expect("save");
        assert_eq!(saved.items, 3);
        std::fs::read(path).expect("read")
    }

    #[test]
    fn every_single_byte_changed_anywhere_in_the_file_is_refused() {
        let clock = Clock::new();
        let path = scratch("flips");
        let good = saved_bytes(&clock, &path);
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            std::fs::write(&path, &bad).expect("write");
            let cache = cache();
            let result = restore(&cache, &clock, SETTINGS, &path);
            assert!(result.is_err(), "a change at byte {at} went unnoticed");
            assert!(cache.is_empty(), "byte {at}: the cache starts empty");
        }
        for len in 0..good.len() {
            std::fs::write(&path, &good[..len]).expect("write");
            let cache = cache();
            assert!(
                restore(&cache, &clock, SETTINGS, &path).is_err(),
                "cut at {len}"
            );
            assert!(cache.is_empty());
        }
        std::fs::write(&path, &good).expect("write");
        assert_eq!(saved_seeds(&path), Some(SEEDS));
        let cache = cache();
        let restored = restore(&cache, &clock, SETTINGS, &path).expect("the intact file");
        assert_eq!((restored.items, cache.len()), (3, 3));
        assert!(!path.exists(), "consumed");
    }
}
