//! Packed WADs inside fantome archives, read as a stream (a deflated entry cannot be read at
//! random): the header and TOC first, then every wanted chunk in offset order. Entries sharing
//! one data range are served from the same bytes; memory holds one chunk at a time.

use crate::error::{Error, Result};
use crate::mods::zipentry::EntryReader;
use crate::wad::{Toc, TocEntry, V3_HEADER_LEN, header_and_toc_len, parse_toc};

/// Reads the header and TOC of the WAD in `reader` (positioned at its first byte); `size` is the
/// WAD's length.
pub(crate) fn read_toc(reader: &mut EntryReader<'_>, size: u64, label: &str) -> Result<Toc> {
    let mut head = reader.read_vec(size.min(V3_HEADER_LEN))?;
    let need = header_and_toc_len(&head, size, label)?;
    if need > head.len() as u64 {
        let rest = reader.read_vec(need - head.len() as u64)?;
        head.extend_from_slice(&rest);
    }
    let toc = parse_toc(&head, size, label)?;
    toc.check_bounds(label)?;
    Ok(toc)
}

/// Streams the chunks `wanted` (entries of `toc`) out of `reader`, which has just read the TOC:
/// `visit` receives each entry with its packed bytes, in ascending offset order.
pub(crate) fn stream_chunks(
    reader: &mut EntryReader<'_>,
    wanted: &[TocEntry],
    label: &str,
    mut visit: impl FnMut(&TocEntry, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut order: Vec<&TocEntry> = wanted.iter().collect();
    order.sort_by_key(|e| (e.offset, std::cmp::Reverse(e.packed_size)));
    let mut last: Option<(u64, Vec<u8>)> = None;
    for entry in order {
        let start = u64::from(entry.offset);
        let len = u64::from(entry.packed_size);
        if let Some((at, bytes)) = &last {
            let inside = start >= *at && start + len <= *at + bytes.len() as u64;
            if inside {
                let from = usize::try_from(start - at).unwrap_or(0);
                let to = from + usize::try_from(len).unwrap_or(0);
                if let Some(slice) = bytes.get(from..to) {
                    visit(entry, slice)?;
                    continue;
                }
            }
        }
        let pos = reader.position();
        if start < pos {
            return Err(Error::format(
                label,
                start,
                format!(
                    "chunk {:016x} at {start} overlaps data already read up to {pos} (only shared identical ranges are supported)",
                    entry.path_hash
                ),
            ));
        }
        reader.skip(start - pos)?;
        let bytes = reader.read_vec(len)?;
        visit(entry, &bytes)?;
        last = Some((start, bytes));
    }
    Ok(())
}
