//! The fast parser: byte and word fills plus forward references found through a hash table of
//! 4-byte prefixes holding the last 4 positions of each bucket (docs/rom.md, "Encoder"). One
//! pass, no tables.

use super::emit::Literals;
use super::{Kind, MAX_LEN, Op};

const HASH_BITS: u32 = 13;
/// Positions remembered per bucket.
const WAYS: usize = 4;

fn hash(bytes: &[u8]) -> usize {
    let mut word = [0u8; 4];
    for (slot, b) in word.iter_mut().zip(bytes) {
        *slot = *b;
    }
    (u32::from_le_bytes(word).wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// Bytes equal between `input[a..]` and `input[b..]`, up to `limit` (byte by byte, so `a < b`
/// may overlap as a forward reference does).
fn common(input: &[u8], a: usize, b: usize, limit: usize) -> usize {
    let mut len = 0;
    while len < limit {
        match (input.get(a + len), input.get(b + len)) {
            (Some(x), Some(y)) if x == y => len += 1,
            _ => break,
        }
    }
    len
}

/// Parses `input` in one pass.
pub(super) fn parse(input: &[u8]) -> Vec<Op> {
    let n = input.len();
    let mut table = vec![[u32::MAX; WAYS]; 1 << HASH_BITS];
    let mut ops = Vec::new();
    let mut literals = Literals::default();
    let mut pos = 0;
    let mut indexed = 0;
    while pos < n {
        let rest = n - pos;
        // Insert every position up to here (the last 3 bytes have no full prefix).
        while indexed < pos && indexed + 4 <= n {
            if let (Some(bucket), Some(key)) = (
                table.get_mut(hash(input.get(indexed..).unwrap_or_default())),
                u32::try_from(indexed).ok(),
            ) {
                bucket.rotate_right(1);
                bucket[0] = key;
            }
            indexed += 1;
        }
        indexed = indexed.max(pos);
        let mut best: Option<(Kind, usize, u16, isize)> = None;
        let mut consider = |kind: Kind, len: usize, off: u16| {
            let units = len / kind.unit();
            if units == 0 {
                return;
            }
            let gain = len as isize - kind.cost(units) as isize;
            if best.is_none_or(|b| gain > b.3) {
                best = Some((kind, len, off, gain));
            }
        };
        let run = 1 + common(input, pos, pos + 1, rest.saturating_sub(1).min(MAX_LEN - 1));
        consider(Kind::Byte, run, 0);
        if rest >= 4 {
            let pairs = 1 + common(input, pos, pos + 2, (rest - 2).min(2 * MAX_LEN - 2)) / 2;
            consider(Kind::Word, pairs * 2, 0);
            let slot = hash(input.get(pos..).unwrap_or_default());
            let mut found = (0usize, 0usize);
            for &candidate in table.get(slot).into_iter().flatten() {
                let candidate = candidate as usize;
                if candidate < pos {
                    let len = common(input, candidate, pos, rest.min(MAX_LEN));
                    if len > found.0 {
                        found = (len, candidate);
                    }
                }
            }
            if found.0 >= 4 {
                consider(Kind::Forward, found.0, found.1 as u16);
            }
        }
        match best.filter(|b| b.3 >= 1) {
            Some((kind, len, off, _)) => {
                literals.flush(&mut ops, pos);
                ops.push(Op {
                    kind,
                    pos,
                    len,
                    off,
                });
                pos += len;
            }
            None => {
                literals.push(&mut ops, pos);
                pos += 1;
            }
        }
    }
    literals.flush(&mut ops, n);
    ops
}
