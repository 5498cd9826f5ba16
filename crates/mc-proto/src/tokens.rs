//! memcached's command-line tokenizer.
//!
//! memcached splits a command line on the space byte only (TAB and other control bytes belong to
//! the token), collapses runs of spaces, and stops after 23 tokens, leaving the rest of the line
//! unsplit. Argument-count checks in memcached count one extra, empty, terminal token; [`Tokens`]
//! keeps that convention available through [`Tokens::ntokens`] so the checks read like
//! memcached's.

/// The most tokens memcached splits off a line, including its terminal token.
pub(crate) const MAX_TOKENS: usize = 24;

/// Token boundaries within one command line (offsets into the line).
#[derive(Debug)]
pub(crate) struct Tokens {
    spans: [(usize, usize); MAX_TOKENS - 1],
    count: usize,
    /// Offset of the first byte not tokenized, when the line had more than 23 tokens.
    rest: Option<usize>,
}

impl Tokens {
    /// Split `line` (without its line terminator) the way memcached does.
    pub(crate) fn split(line: &[u8]) -> Tokens {
        let mut tokens = Tokens {
            spans: [(0, 0); MAX_TOKENS - 1],
            count: 0,
            rest: None,
        };
        let mut start = 0;
        let mut i = 0;
        while i < line.len() {
            if line[i] == b' ' {
                if start != i {
                    tokens.spans[tokens.count] = (start, i);
                    tokens.count += 1;
                    if tokens.count == MAX_TOKENS - 1 {
                        if i + 1 < line.len() {
                            tokens.rest = Some(i + 1);
                        }
                        return tokens;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        if start != line.len() {
            tokens.spans[tokens.count] = (start, line.len());
            tokens.count += 1;
        }
        tokens
    }

    /// Number of real tokens.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// memcached's `ntokens`: real tokens plus the terminal token.
    pub(crate) fn ntokens(&self) -> usize {
        self.count + 1
    }

    /// Byte range of token `i`.
    pub(crate) fn span(&self, i: usize) -> (usize, usize) {
        self.spans[i]
    }

    /// Token `i` as a slice of `line`; empty past the last token, like memcached's terminal token.
    pub(crate) fn get<'a>(&self, line: &'a [u8], i: usize) -> &'a [u8] {
        if i < self.count {
            let (s, e) = self.spans[i];
            &line[s..e]
        } else {
            &[]
        }
    }

    /// The last real token, which is where memcached looks for `noreply`.
    pub(crate) fn last<'a>(&self, line: &'a [u8]) -> &'a [u8] {
        match self.count {
            0 => &[],
            n => self.get(line, n - 1),
        }
    }

    /// True when the line's last real token is `noreply` and nothing was left untokenized.
    pub(crate) fn noreply(&self, line: &[u8]) -> bool {
        self.rest.is_none() && self.last(line) == b"noreply"
    }

    /// Offset of the untokenized remainder of the line, if any.
    pub(crate) fn rest(&self) -> Option<usize> {
        self.rest
    }
}

/// Iterate over the space-separated words of `bytes`, skipping empty ones.
pub(crate) fn words(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut pos = 0;
    std::iter::from_fn(move || {
        while pos < bytes.len() && bytes[pos] == b' ' {
            pos += 1;
        }
        if pos == bytes.len() {
            return None;
        }
        let start = pos;
        pos = memchr::memchr(b' ', &bytes[pos..]).map_or(bytes.len(), |n| pos + n);
        Some((start, pos))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_spaces_and_keeps_control_bytes() {
        let line = b"  set a\tb  0 0 1 ";
        let t = Tokens::split(line);
        assert_eq!(t.count(), 5);
        assert_eq!(t.get(line, 0), b"set");
        assert_eq!(t.get(line, 1), b"a\tb");
        assert_eq!(t.get(line, 4), b"1");
        assert_eq!(t.get(line, 5), b"");
        assert_eq!(t.ntokens(), 6);
        assert!(t.rest().is_none());
    }

    #[test]
    fn stops_after_23_tokens() {
        let line: Vec<u8> = (0..30)
            .map(|i| format!("t{i}"))
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes();
        let t = Tokens::split(&line);
        assert_eq!(t.count(), 23);
        assert_eq!(t.ntokens(), 24);
        let rest = t.rest().expect("rest of line");
        assert_eq!(&line[rest..], b"t23 t24 t25 t26 t27 t28 t29");
    }

    #[test]
    fn words_skip_empty() {
        let w: Vec<_> = words(b" a  bb c ").collect();
        assert_eq!(w, vec![(1, 2), (4, 6), (7, 8)]);
    }
}
