//! The greedy parser: at each position, the command that saves the most bytes over literals,
//! looking one position ahead before committing (docs/rom.md, "Encoder").

use super::emit::Literals;
use super::tables::{COMMANDS, Tables};
use super::{Kind, Op};

/// The best command at `pos`: (kind, bytes covered, offset, bytes saved over literals).
fn best_at(tables: &Tables, pos: usize) -> Option<(Kind, usize, u16, isize)> {
    let mut best: Option<(Kind, usize, u16, isize)> = None;
    for kind in COMMANDS {
        let (units, off) = tables.longest(kind, pos);
        if units == 0 {
            continue;
        }
        let len = units * kind.unit();
        let gain = len as isize - kind.cost(units) as isize;
        let better =
            best.is_none_or(|(_, blen, _, bgain)| gain > bgain || (gain == bgain && len > blen));
        if better {
            best = Some((kind, len, off, gain));
        }
    }
    best
}

/// Parses `input` greedily.
pub(super) fn parse(input: &[u8], tables: &Tables) -> Vec<Op> {
    let n = input.len();
    let mut ops = Vec::new();
    let mut literals = Literals::default();
    let mut pos = 0;
    while pos < n {
        let here = best_at(tables, pos).filter(|b| b.3 >= 1);
        let Some((kind, len, off, gain)) = here else {
            literals.push(&mut ops, pos);
            pos += 1;
            continue;
        };
        // Lazy step: a clearly better command one byte later is worth one literal.
        let next = best_at(tables, pos + 1).map_or(0, |b| b.3);
        if next > gain + 1 {
            literals.push(&mut ops, pos);
            pos += 1;
            continue;
        }
        literals.flush(&mut ops, pos);
        ops.push(Op {
            kind,
            pos,
            len,
            off,
        });
        pos += len;
    }
    literals.flush(&mut ops, n);
    ops
}
