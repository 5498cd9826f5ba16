//! What `-vv` (or `verbosity 2`) prints on stderr for every text command, in memcached's
//! form: `<fd command line`, then `>fd answer` per answer line (`>fd sending key <key>` for
//! a value). Lines are gathered during a slice and printed after it, with no store shard
//! locked, so a slow terminal never holds up other clients.

use std::fmt::Write as _;
use std::io::Write as _;

use bytes::BytesMut;
use mc_proto::Request;

/// Lines waiting to be printed.
#[derive(Debug, Default)]
pub(crate) struct VerboseLog {
    lines: String,
    /// Gather nothing (the socket-free harness has no terminal to print to).
    muted: bool,
}

/// The most bytes of one request line shown (a get line may be megabytes long).
const SHOWN: usize = 2048;

impl VerboseLog {
    /// `<id command line` for a request (its first line; no data block).
    pub(crate) fn request(&mut self, id: i32, request: &Request) {
        if self.muted {
            return;
        }
        let mut wire = BytesMut::new();
        request.encode(&mut wire);
        let line = wire[..].split(|&b| b == b'\r').next().unwrap_or_default();
        let shown = &line[..line.len().min(SHOWN)];
        let _ = writeln!(self.lines, "<{id} {}", String::from_utf8_lossy(shown));
    }

    /// `<id` and the binary command's name and key.
    pub(crate) fn binary(&mut self, id: i32, request: &mc_proto::binary::BinaryRequest) {
        if self.muted {
            return;
        }
        let _ = writeln!(
            self.lines,
            "<{id} Read binary protocol data: opcode 0x{:02x}",
            request.header.opcode
        );
    }

    /// `>id ...` for each answer line in `answer`; values are named, not printed.
    pub(crate) fn answers(&mut self, id: i32, answer: &[u8]) {
        if self.muted {
            return;
        }
        let mut rest = answer;
        while !rest.is_empty() {
            let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line = &rest[..end];
            rest = &rest[end + 2..];
            let words: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
            let data_len = match words.as_slice() {
                [b"VALUE", key, _, len, ..] => {
                    let _ = writeln!(
                        self.lines,
                        ">{id} sending key {}",
                        String::from_utf8_lossy(key)
                    );
                    parse_len(len)
                }
                [b"VA", len, ..] => {
                    let _ = writeln!(self.lines, ">{id} {}", String::from_utf8_lossy(line));
                    parse_len(len)
                }
                // Listings (stats, dumps) are not echoed, as memcached does not.
                [first, ..]
                    if matches!(*first, b"STAT" | b"ITEM" | b"PREFIX")
                        || first.starts_with(b"key=") =>
                {
                    None
                }
                _ => {
                    let shown = &line[..line.len().min(SHOWN)];
                    let _ = writeln!(self.lines, ">{id} {}", String::from_utf8_lossy(shown));
                    None
                }
            };
            if let Some(len) = data_len {
                rest = rest.get(len + 2..).unwrap_or_default();
            }
        }
    }

    /// Gather nothing from now on.
    pub(crate) fn mute(&mut self) {
        self.muted = true;
        self.lines.clear();
    }

    /// Print what was gathered (stderr, unbuffered, as memcached's `fprintf`).
    pub(crate) fn print(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        let _ = std::io::stderr().lock().write_all(self.lines.as_bytes());
        self.lines.clear();
    }

    /// One line about the connection itself (`new … client connection`, `connection
    /// closed.`), printed at once.
    pub(crate) fn event(id: i32, what: &str) {
        let _ = writeln!(std::io::stderr().lock(), "<{id} {what}");
    }
}

fn parse_len(word: &[u8]) -> Option<usize> {
    std::str::from_utf8(word).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_as_memcached_prints_them() {
        let mut log = VerboseLog::default();
        let request = mc_proto::RequestDecoder::new(mc_proto::Limits::default())
            .decode(&mut BytesMut::from(&b"set k 0 0 2\r\nhi\r\n"[..]))
            .expect("valid")
            .expect("complete");
        log.request(7, &request);
        log.answers(7, b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n");
        assert_eq!(
            log.lines,
            "<7 set k 0 0 2\n>7 STORED\n>7 sending key k\n>7 END\n"
        );
    }
}
