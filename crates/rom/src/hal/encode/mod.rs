//! The HAL encoder (docs/rom.md, "Encoder"): three parsers over the same command set and one
//! emitter. Streams use commands 0-6 only (never `FC`-`FE`), never reference output that is
//! not yet written, keep backwards references at `off >= L - 1` and forward ones at
//! `off + L <= 65536`, so exhal, the original routine and the strict decoder all read them.

mod emit;
mod fast;
mod greedy;
mod matches;
mod optimal;
mod tables;

use modforge_core::Control;

use super::decode::MAX_OUTPUT;
use crate::error::Error;

/// How hard the encoder searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Byte and word fills plus forward references found through a one-entry hash table.
    Fast,
    /// Every command kind (0-6) with exact longest matches; at each position the command saving
    /// the most bytes is taken.
    #[default]
    Greedy,
    /// The minimum-size stream: a shortest path over every command and every length, literal
    /// runs priced exactly.
    Optimal,
}

impl Mode {
    /// The mode's name (`fast`, `greedy`, `optimal`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Fast => "fast",
            Mode::Greedy => "greedy",
            Mode::Optimal => "optimal",
        }
    }

    /// Parses a mode name.
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "fast" => Some(Mode::Fast),
            "greedy" => Some(Mode::Greedy),
            "optimal" => Some(Mode::Optimal),
            _ => None,
        }
    }
}

/// What a command does, numbered as its 3-bit command field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Kind {
    /// 0: raw bytes.
    Literal = 0,
    /// 1: byte fill.
    Byte = 1,
    /// 2: word fill (length counts pairs).
    Word = 2,
    /// 3: increasing sequence.
    Seq = 3,
    /// 4: forward reference.
    Forward = 4,
    /// 5: bit-reversed forward reference.
    Reversed = 5,
    /// 6: backwards reference.
    Backward = 6,
}

/// Longest command, in units (bytes, or pairs for word fills).
pub(crate) const MAX_LEN: usize = 1024;
/// Longest short-form command, in units.
pub(crate) const SHORT_LEN: usize = 32;

impl Kind {
    /// Bytes of output per length unit.
    pub(crate) fn unit(self) -> usize {
        if self == Kind::Word { 2 } else { 1 }
    }

    /// Argument bytes after the command header (literals: their bytes, counted separately).
    pub(crate) fn args(self) -> usize {
        match self {
            Kind::Literal => 0,
            Kind::Byte | Kind::Seq => 1,
            Kind::Word | Kind::Forward | Kind::Reversed | Kind::Backward => 2,
        }
    }

    /// Encoded size of a command of `units` length units (1..=1024).
    pub(crate) fn cost(self, units: usize) -> usize {
        let header = if units <= SHORT_LEN { 1 } else { 2 };
        let body = if self == Kind::Literal {
            units
        } else {
            self.args()
        };
        header + body
    }
}

/// One command of a parse: `len` output bytes starting at input position `pos`; `off` is the
/// reference offset for kinds 4-6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub kind: Kind,
    pub pos: usize,
    pub len: usize,
    pub off: u16,
}

/// Encodes `input` (at most 65,536 bytes) in `mode`. Empty input gives the stream `FF`. A
/// stream that would reach 65,536 bytes (incompressible input near 64 KiB) is a Limit error,
/// as is a larger input.
pub fn encode(input: &[u8], mode: Mode) -> Result<Vec<u8>, Error> {
    encode_with(input, mode, &Control::default())
}

/// [`encode`] with cancellation, checked between the encoder's phases.
pub fn encode_with(input: &[u8], mode: Mode, control: &Control<'_>) -> Result<Vec<u8>, Error> {
    if input.len() > MAX_OUTPUT {
        return Err(Error::Limit(format!(
            "HAL input is {} bytes; a stream decodes to at most {MAX_OUTPUT}",
            input.len()
        )));
    }
    let ops = match mode {
        Mode::Fast => fast::parse(input),
        Mode::Greedy => {
            let tables = tables::Tables::build(input, control)?;
            greedy::parse(input, &tables)
        }
        Mode::Optimal => {
            let tables = tables::Tables::build(input, control)?;
            optimal::parse(input, &tables, control)?
        }
    };
    let out = emit::emit(input, &ops)?;
    if out.len() >= MAX_OUTPUT {
        return Err(Error::Limit(format!(
            "the {} stream of this {}-byte input would be {} bytes; streams are kept below {MAX_OUTPUT} bytes",
            mode.as_str(),
            input.len(),
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_follow_the_command_forms() {
        assert_eq!(Kind::Literal.cost(1), 2);
        assert_eq!(Kind::Literal.cost(32), 33);
        assert_eq!(Kind::Literal.cost(33), 35);
        assert_eq!(Kind::Byte.cost(32), 2);
        assert_eq!(Kind::Byte.cost(33), 3);
        assert_eq!(Kind::Word.cost(1), 3);
        assert_eq!(Kind::Forward.cost(1024), 4);
        assert_eq!(Mode::parse("optimal"), Some(Mode::Optimal));
        assert_eq!(Mode::parse("best"), None);
    }
}
