//! The values of a multi-key answer, left where they were read: a shared buffer per stretch of
//! the answer and where each item lies in it, instead of two shared slices cut per item.

use bytes::Bytes;
use mc_proto::ValueSpan;

/// One stretch of a multi-key answer and the items in it (offsets into `bytes`).
#[derive(Debug)]
struct ValueChunk {
    bytes: Bytes,
    items: Vec<ValueSpan>,
}

/// Every value of a multi-key answer, in the order the server sent them.
#[derive(Debug, Default)]
pub(crate) struct FoundValues {
    chunks: Vec<ValueChunk>,
}

impl FoundValues {
    /// Add a stretch of the answer and the items found in it.
    pub(crate) fn push(&mut self, bytes: Bytes, items: Vec<ValueSpan>) {
        if !items.is_empty() {
            self.chunks.push(ValueChunk { bytes, items });
        }
    }

    /// How many values there are.
    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.items.len()).sum()
    }

    /// The values, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = FoundValue<'_>> {
        self.chunks.iter().flat_map(|chunk| {
            chunk.items.iter().map(move |span| FoundValue {
                bytes: &chunk.bytes,
                span,
            })
        })
    }
}

/// One value of a multi-key answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FoundValue<'a> {
    bytes: &'a Bytes,
    span: &'a ValueSpan,
}

impl FoundValue<'_> {
    /// The key, as the server sent it (with any key prefix).
    pub(crate) fn key(&self) -> &[u8] {
        &self.bytes[self.span.key.clone()]
    }

    /// The client flags.
    pub(crate) fn flags(&self) -> u32 {
        self.span.flags
    }

    /// The data: a shared slice of the answer, not a copy.
    pub(crate) fn data(&self) -> Bytes {
        self.bytes.slice(self.span.data.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_in_order_across_chunks() {
        let span = |key: std::ops::Range<usize>, data: std::ops::Range<usize>| ValueSpan {
            key,
            flags: 3,
            cas: None,
            data,
        };
        let mut found = FoundValues::default();
        found.push(
            Bytes::from_static(b"a xy b z"),
            vec![span(0..1, 2..4), span(5..6, 7..8)],
        );
        found.push(Bytes::from_static(b"nothing"), Vec::new());
        found.push(Bytes::from_static(b"c q"), vec![span(0..1, 2..3)]);
        assert_eq!(found.len(), 3);
        let items: Vec<(Vec<u8>, Bytes, u32)> = found
            .iter()
            .map(|v| (v.key().to_vec(), v.data(), v.flags()))
            .collect();
        assert_eq!(
            items,
            [
                (b"a".to_vec(), Bytes::from_static(b"xy"), 3),
                (b"b".to_vec(), Bytes::from_static(b"z"), 3),
                (b"c".to_vec(), Bytes::from_static(b"q"), 3),
            ]
        );
    }
}
