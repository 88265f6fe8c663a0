//! The optimal parser (docs/rom.md, "Encoder"): a shortest path from position 0 to `n` where
//! every edge is one command, priced exactly.
//!
//! - A literal run of `m` bytes costs `m + 1` (m <= 32) or `m + 2` (m <= 1024). Relaxing every
//!   run length would be O(1024 n); with `key(j) = cost[j] - j` the best run ending at `i` is
//!   `min key` over the window `[i-32, i-1]` plus `i + 1`, or over `[i-1024, i-33]` plus
//!   `i + 2`: two sliding-window minima (monotonic queues).
//! - Any shorter prefix of a fill or reference is also a valid command from the same place, and a
//!   command's price depends only on its kind and whether its length fits the short form. So the
//!   longest command of each kind at `i` (from the tables) stands for all of them: it relaxes the
//!   whole range `[i+1, i+min(M,32)]` at the short price and `[i+33, i+M]` at the long price
//!   (word fills: even distances only). Ranges enter a min-heap when they start and leave it
//!   once they end, so each position reads the cheapest live range in O(log n).
//!
//! Edges that can never beat a literal run with the same ends are skipped (a fill of 1 byte, a
//! word fill of 1 pair, a reference of at most 2 bytes).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use modforge_core::Control;

use super::tables::{COMMANDS, Tables};
use super::{Kind, MAX_LEN, Op, SHORT_LEN};
use crate::error::Error;

/// A command range: from `from`, reaching any position in `[start, end]` (word fills: those
/// of `from`'s parity) at total cost `cost`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Range {
    cost: u32,
    end: u32,
    from: u32,
    kind: Kind,
    start: u32,
}

/// How a position was reached.
#[derive(Clone, Copy, Debug)]
struct Step {
    from: u32,
    kind: Kind,
}

/// A sliding-window minimum of `key(j)` over positions `j`.
#[derive(Default)]
struct MinQueue {
    items: VecDeque<(i64, usize)>,
}

impl MinQueue {
    fn push(&mut self, key: i64, j: usize) {
        while self.items.back().is_some_and(|&(k, _)| k >= key) {
            self.items.pop_back();
        }
        self.items.push_back((key, j));
    }

    fn evict_below(&mut self, lo: usize) {
        while self.items.front().is_some_and(|&(_, j)| j < lo) {
            self.items.pop_front();
        }
    }

    fn min(&self) -> Option<(i64, usize)> {
        self.items.front().copied()
    }
}

/// The cheapest live range of `heap` at position `at`.
fn live(heap: &mut BinaryHeap<Reverse<Range>>, at: u32) -> Option<Range> {
    while let Some(Reverse(top)) = heap.peek() {
        if top.end < at {
            heap.pop();
        } else {
            return Some(*top);
        }
    }
    None
}

/// Shortest parse of `input`.
pub(super) fn parse(
    input: &[u8],
    tables: &Tables,
    control: &Control<'_>,
) -> Result<Vec<Op>, Error> {
    let n = input.len();
    let mut cost = vec![u32::MAX; n + 1];
    let mut steps = vec![
        Step {
            from: 0,
            kind: Kind::Literal
        };
        n + 1
    ];
    if let Some(c) = cost.get_mut(0) {
        *c = 0;
    }
    let key =
        |cost: &[u32], j: usize| i64::from(cost.get(j).copied().unwrap_or(u32::MAX)) - j as i64;
    let mut short = MinQueue::default();
    let mut long = MinQueue::default();
    let mut heap: BinaryHeap<Reverse<Range>> = BinaryHeap::new();
    let mut words: [BinaryHeap<Reverse<Range>>; 2] = [BinaryHeap::new(), BinaryHeap::new()];
    // Long ranges start 33 units after their origin: they wait here, in start order.
    let mut pending: VecDeque<Range> = VecDeque::new();
    let mut pending_words: VecDeque<Range> = VecDeque::new();
    for i in 0..=n {
        if i % 4096 == 0 {
            control.check()?;
        }
        if i > 0 {
            let at = i as u32;
            short.push(key(&cost, i - 1), i - 1);
            short.evict_below(i.saturating_sub(SHORT_LEN));
            if i > SHORT_LEN {
                long.push(key(&cost, i - SHORT_LEN - 1), i - SHORT_LEN - 1);
            }
            long.evict_below(i.saturating_sub(MAX_LEN));
            let mut best: Option<(u32, Step)> = None;
            let mut offer = |c: i64, step: Step| {
                let c = u32::try_from(c).unwrap_or(u32::MAX);
                if best.is_none_or(|(b, _)| c < b) {
                    best = Some((c, step));
                }
            };
            if let Some((k, j)) = short.min() {
                offer(
                    k + i as i64 + 1,
                    Step {
                        from: j as u32,
                        kind: Kind::Literal,
                    },
                );
            }
            if let Some((k, j)) = long.min() {
                offer(
                    k + i as i64 + 2,
                    Step {
                        from: j as u32,
                        kind: Kind::Literal,
                    },
                );
            }
            while pending.front().is_some_and(|r| r.start <= at) {
                if let Some(r) = pending.pop_front() {
                    heap.push(Reverse(r));
                }
            }
            while pending_words.front().is_some_and(|r| r.start <= at) {
                if let Some(r) = pending_words.pop_front() {
                    if let Some(h) = words.get_mut((r.from % 2) as usize) {
                        h.push(Reverse(r));
                    }
                }
            }
            let parity = i % 2;
            let candidates = [
                live(&mut heap, at),
                words.get_mut(parity).and_then(|h| live(h, at)),
            ];
            for r in candidates.into_iter().flatten() {
                offer(
                    i64::from(r.cost),
                    Step {
                        from: r.from,
                        kind: r.kind,
                    },
                );
            }
            if let (Some((c, step)), Some(slot), Some(s)) =
                (best, cost.get_mut(i), steps.get_mut(i))
            {
                *slot = c;
                *s = step;
            }
        }
        if i == n {
            break;
        }
        let base = cost.get(i).copied().unwrap_or(u32::MAX);
        for kind in COMMANDS {
            let (units, _) = tables.longest(kind, i);
            let useful = match kind {
                Kind::Forward | Kind::Reversed | Kind::Backward => units >= 3,
                _ => units >= 2,
            };
            if !useful {
                continue;
            }
            let unit = kind.unit() as u32;
            let from = i as u32;
            let short_units = units.min(SHORT_LEN) as u32;
            let first = Range {
                cost: base.saturating_add(kind.cost(1) as u32),
                end: from + short_units * unit,
                from,
                kind,
                start: from + unit,
            };
            if kind == Kind::Word {
                if let Some(h) = words.get_mut(i % 2) {
                    h.push(Reverse(first));
                }
            } else {
                heap.push(Reverse(first));
            }
            if units > SHORT_LEN {
                let second = Range {
                    cost: base.saturating_add(kind.cost(SHORT_LEN + 1) as u32),
                    end: from + units as u32 * unit,
                    from,
                    kind,
                    start: from + (SHORT_LEN as u32 + 1) * unit,
                };
                if kind == Kind::Word {
                    pending_words.push_back(second);
                } else {
                    pending.push_back(second);
                }
            }
        }
    }
    // Walk back from the end.
    let mut ops = Vec::new();
    let mut at = n;
    while at > 0 {
        let Some(&step) = steps.get(at) else { break };
        let from = step.from as usize;
        if from >= at {
            return Err(Error::Internal(format!(
                "optimal parse does not advance at {at}"
            )));
        }
        let off = tables.longest(step.kind, from).1;
        ops.push(Op {
            kind: step.kind,
            pos: from,
            len: at - from,
            off,
        });
        at = from;
    }
    ops.reverse();
    Ok(ops)
}
