//! Per-position maximum lengths of every command kind, shared by the greedy and optimal parsers.

use modforge_core::Control;

use super::matches::{RefKind, RefMatch, longest_matches};
use super::{Kind, MAX_LEN};
use crate::error::Error;

/// For each input position, the longest command of each kind starting there.
pub(super) struct Tables {
    /// Byte fill length (bytes).
    pub byte: Vec<u16>,
    /// Word fill length (pairs).
    pub word: Vec<u16>,
    /// Sequence length (bytes).
    pub seq: Vec<u16>,
    /// Forward, bit-reversed and backwards references.
    pub refs: [Vec<RefMatch>; 3],
}

impl Tables {
    /// Builds every table for `input` (at most 65,536 bytes).
    pub(super) fn build(input: &[u8], control: &Control<'_>) -> Result<Tables, Error> {
        let n = input.len();
        let mut byte = vec![0u16; n];
        let mut seq = vec![0u16; n];
        let mut word = vec![0u16; n];
        for i in (0..n).rev() {
            let here = input.get(i).copied();
            let next = input.get(i + 1).copied();
            let after = |t: &[u16]| usize::from(t.get(i + 1).copied().unwrap_or(0));
            let b = if next.is_some() && next == here {
                after(&byte) + 1
            } else {
                1
            };
            let s = if next.is_some() && next == here.map(|v| v.wrapping_add(1)) {
                after(&seq) + 1
            } else {
                1
            };
            // A pair needs two bytes; it continues when the next pair repeats it.
            let w = if next.is_none() {
                0
            } else if input.get(i + 2).is_some()
                && input.get(i + 2) == input.get(i)
                && input.get(i + 3).is_some()
                && input.get(i + 3) == input.get(i + 1)
            {
                usize::from(word.get(i + 2).copied().unwrap_or(0)) + 1
            } else {
                1
            };
            if let (Some(bs), Some(ss), Some(ws)) =
                (byte.get_mut(i), seq.get_mut(i), word.get_mut(i))
            {
                *bs = b.min(MAX_LEN) as u16;
                *ss = s.min(MAX_LEN) as u16;
                *ws = w.min(MAX_LEN) as u16;
            }
        }
        control.check()?;
        let forward = longest_matches(input, RefKind::Forward);
        control.check()?;
        let reversed = longest_matches(input, RefKind::Reversed);
        control.check()?;
        let backward = longest_matches(input, RefKind::Backward);
        control.check()?;
        Ok(Tables {
            byte,
            word,
            seq,
            refs: [forward, reversed, backward],
        })
    }

    /// The longest command of `kind` at `pos` in length units (0 when none), and the
    /// reference offset for kinds 4-6.
    pub(super) fn longest(&self, kind: Kind, pos: usize) -> (usize, u16) {
        let get = |t: &[u16]| usize::from(t.get(pos).copied().unwrap_or(0));
        let reference = |t: &[RefMatch]| {
            let m = t.get(pos).copied().unwrap_or_default();
            (usize::from(m.len), m.off)
        };
        match kind {
            Kind::Literal => (0, 0),
            Kind::Byte => (get(&self.byte), 0),
            Kind::Word => (get(&self.word), 0),
            Kind::Seq => (get(&self.seq), 0),
            Kind::Forward => reference(&self.refs[0]),
            Kind::Reversed => reference(&self.refs[1]),
            Kind::Backward => reference(&self.refs[2]),
        }
    }
}

/// The command kinds other than literals, in command order.
pub(super) const COMMANDS: [Kind; 6] = [
    Kind::Byte,
    Kind::Word,
    Kind::Seq,
    Kind::Forward,
    Kind::Reversed,
    Kind::Backward,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_measured_from_each_position() {
        let input = [5, 5, 5, 1, 2, 1, 2, 1, 2, 3, 4, 5];
        let t = Tables::build(&input, &Control::default()).unwrap();
        assert_eq!(t.longest(Kind::Byte, 0).0, 3);
        assert_eq!(t.longest(Kind::Word, 3).0, 3);
        assert_eq!(t.longest(Kind::Word, 4).0, 2, "2 1 2 1 then 2 3");
        assert_eq!(t.longest(Kind::Seq, 7).0, 5, "1 2 3 4 5");
        assert_eq!(t.longest(Kind::Word, 11).0, 0, "no pair at the last byte");
        assert_eq!(t.longest(Kind::Forward, 5), (4, 3));
    }
}
