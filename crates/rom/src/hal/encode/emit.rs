//! Writes a parse as a stream (docs/rom.md, "Command forms").

use super::{Kind, MAX_LEN, Op, SHORT_LEN};
use crate::error::Error;

/// Appends the command header of `kind` with `units` (1..=1024) length units.
fn header(out: &mut Vec<u8>, kind: Kind, units: usize) {
    let n = units - 1;
    let c = kind as u8;
    if units <= SHORT_LEN {
        out.push((c << 5) | n as u8);
    } else {
        // 111c ccLL LLLLLLLL: c <= 6 keeps the first byte at or below 0xFB (never FC-FF).
        out.push(0xE0 | (c << 2) | (n >> 8) as u8);
        out.push((n & 0xFF) as u8);
    }
}

/// Emits `ops` (which must cover `input` in order) followed by `FF`.
pub(super) fn emit(input: &[u8], ops: &[Op]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(input.len() / 2 + 16);
    let mut at = 0usize;
    for op in ops {
        let units = op.len / op.kind.unit();
        let bytes = input.get(op.pos..op.pos + op.len);
        let valid = op.pos == at
            && (1..=MAX_LEN).contains(&units)
            && units * op.kind.unit() == op.len
            && bytes.is_some();
        let Some(bytes) = bytes.filter(|_| valid) else {
            return Err(Error::Internal(format!(
                "encoder parse does not tile the input at {at}: {op:?}"
            )));
        };
        header(&mut out, op.kind, units);
        match op.kind {
            Kind::Literal => out.extend_from_slice(bytes),
            Kind::Byte | Kind::Seq => out.extend(bytes.iter().take(1)),
            Kind::Word => out.extend(bytes.iter().take(2)),
            Kind::Forward | Kind::Reversed | Kind::Backward => {
                out.extend_from_slice(&op.off.to_be_bytes())
            }
        }
        at += op.len;
    }
    if at != input.len() {
        return Err(Error::Internal(format!(
            "encoder parse covers {at} of {} bytes",
            input.len()
        )));
    }
    out.push(0xFF);
    Ok(out)
}

/// Collects literal bytes into runs of at most 1024 and flushes them as ops.
#[derive(Debug, Default)]
pub(super) struct Literals {
    start: Option<usize>,
}

impl Literals {
    /// Adds the byte at `pos` (positions arrive in order, without gaps inside a run).
    pub(super) fn push(&mut self, ops: &mut Vec<Op>, pos: usize) {
        let start = *self.start.get_or_insert(pos);
        if pos + 1 - start == MAX_LEN {
            self.flush(ops, pos + 1);
        }
    }

    /// Ends the current run before `end`.
    pub(super) fn flush(&mut self, ops: &mut Vec<Op>, end: usize) {
        if let Some(start) = self.start.take() {
            ops.push(Op {
                kind: Kind::Literal,
                pos: start,
                len: end - start,
                off: 0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_use_short_and_long_forms() {
        let mut out = Vec::new();
        header(&mut out, Kind::Byte, 15);
        header(&mut out, Kind::Byte, 513);
        header(&mut out, Kind::Backward, 1024);
        header(&mut out, Kind::Literal, 32);
        assert_eq!(out, [0x2E, 0xE6, 0x00, 0xFB, 0xFF, 0x1F]);
    }

    #[test]
    fn a_parse_that_does_not_tile_is_an_internal_error() {
        let op = Op {
            kind: Kind::Literal,
            pos: 1,
            len: 1,
            off: 0,
        };
        assert!(matches!(emit(b"ab", &[op]), Err(Error::Internal(_))));
    }
}
