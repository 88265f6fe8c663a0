//! The immutable lookup table of a cache generation: open addressing over a power-of-two number
//! of `u32` slots (at least twice the entries), slot value = entry index + 1 (0 = empty), home
//! slot = XXH3-64(resref) & mask, linear probing (docs/icons.md, "Cache file").

use xxhash_rust::xxh3::xxh3_64;

/// Slots for `entries` entries: the smallest power of two >= 2 * entries (at least 2).
pub(crate) fn slots_for(entries: usize) -> usize {
    (entries.saturating_mul(2)).max(2).next_power_of_two()
}

/// The home slot of a resref.
pub(crate) fn home(resref: &[u8], mask: usize) -> usize {
    (xxh3_64(resref) as usize) & mask
}

/// Builds the table for `names` (entry `i` has name `names[i]`).
pub(crate) fn build<'a>(names: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u32> {
    let slots = slots_for(names.len());
    let mask = slots - 1;
    let mut table = vec![0u32; slots];
    for (i, name) in names.enumerate() {
        let mut at = home(name, mask);
        // The table is at least twice as large as the entries, so an empty slot exists.
        while table.get(at).is_some_and(|&v| v != 0) {
            at = (at + 1) & mask;
        }
        if let Some(slot) = table.get_mut(at) {
            *slot = i as u32 + 1;
        }
    }
    table
}

/// Probes `slot(i)` (the stored slot values) for `resref`, calling `matches(entry index)` for
/// each candidate; stops at an empty slot or after visiting every slot once.
pub(crate) fn probe(
    slots: usize,
    slot: impl Fn(usize) -> Option<u32>,
    resref: &[u8],
    mut matches: impl FnMut(u32) -> bool,
) -> Option<u32> {
    if !slots.is_power_of_two() {
        return None;
    }
    let mask = slots - 1;
    let mut at = home(resref, mask);
    for _ in 0..slots {
        let value = slot(at)?;
        if value == 0 {
            return None;
        }
        if matches(value - 1) {
            return Some(value - 1);
        }
        at = (at + 1) & mask;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_found_and_others_miss() {
        let names: Vec<Vec<u8>> = (0..1000)
            .map(|i| format!("icon_{i}").into_bytes())
            .collect();
        let table = build(names.iter().map(|n| n.as_slice()));
        assert_eq!(table.len(), 2048);
        assert_eq!(table.iter().filter(|&&v| v != 0).count(), 1000);
        for (i, name) in names.iter().enumerate() {
            let got = probe(
                table.len(),
                |s| table.get(s).copied(),
                name,
                |e| names.get(e as usize) == Some(name),
            );
            assert_eq!(got, Some(i as u32));
        }
        let miss = probe(
            table.len(),
            |s| table.get(s).copied(),
            b"nope",
            |e| names.get(e as usize).map(Vec::as_slice) == Some(b"nope".as_slice()),
        );
        assert_eq!(miss, None);
        // A full table (hostile) ends after one pass.
        let full = [1u32; 8];
        assert_eq!(probe(8, |s| full.get(s).copied(), b"x", |_| false), None);
        assert_eq!(probe(6, |s| full.get(s).copied(), b"x", |_| true), None);
        assert_eq!(slots_for(0), 2);
        assert_eq!(slots_for(3), 8);
    }
}
