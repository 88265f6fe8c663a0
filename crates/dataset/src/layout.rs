//! The `modforge.dataset@1` payload layout (docs/store.md, "Datasets"). Offsets are relative to
//! the payload start and every section starts 8-byte aligned. Fields are little-endian with
//! alignment 1, read through `zerocopy`, never through pointer casts.

use zerocopy::little_endian::{U32, U64};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout, Unaligned};

/// The snapshot kind of datasets; bump the `@N` whenever this layout changes.
pub const DATASET_KIND: &str = "modforge.dataset@1";
/// `keyColumn` of a table without a key.
pub(crate) const NO_KEY: u32 = u32::MAX;
/// An empty index slot.
pub(crate) const EMPTY_SLOT: u32 = u32::MAX;
/// Section alignment.
pub(crate) const ALIGN: usize = 8;

/// The payload's first 48 bytes.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub(crate) struct DatasetHeader {
    pub table_count: U32,
    pub flags: U32,
    pub names_off: U64,
    pub names_len: U64,
    pub tables_off: U64,
    /// The build report, UTF-8 JSON.
    pub report_off: U64,
    pub report_len: U64,
}

/// One per table, at `tables_off`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub(crate) struct TableEntry {
    /// Offset into the names blob.
    pub name_off: U32,
    pub name_len: U32,
    pub row_count: U32,
    pub column_count: U32,
    /// [`NO_KEY`] when the table has no key.
    pub key_column: U32,
    /// A power of two larger than the row count (0 without a key).
    pub index_slots: U32,
    pub columns_off: U64,
    pub index_off: U64,
    pub reserved: U64,
}

/// One per column, at the table's `columns_off`.
#[derive(FromBytes, IntoBytes, KnownLayout, Immutable, Unaligned, Clone, Copy)]
#[repr(C)]
pub(crate) struct ColumnEntry {
    pub name_off: U32,
    pub name_len: U32,
    /// `(row_count + 1) × u32` offsets into the blob.
    pub offsets_off: U64,
    pub blob_off: U64,
    pub blob_len: U64,
}

pub(crate) const DATASET_HEADER_LEN: usize = size_of::<DatasetHeader>();
pub(crate) const TABLE_ENTRY_LEN: usize = size_of::<TableEntry>();
pub(crate) const COLUMN_ENTRY_LEN: usize = size_of::<ColumnEntry>();

const _: () = assert!(DATASET_HEADER_LEN == 48 && TABLE_ENTRY_LEN == 48 && COLUMN_ENTRY_LEN == 32);

/// The index size for a table of `rows` rows: the smallest power of two ≥ 2 × rows (at least 2),
/// so the load factor stays ≤ 0.5 and an empty slot always exists. `None` past `u32`.
pub(crate) fn index_slots_for(rows: u32) -> Option<u32> {
    let want = (u64::from(rows) * 2).max(2).next_power_of_two();
    u32::try_from(want).ok()
}

/// The first index slot of a key.
pub(crate) fn home_slot(key: &[u8], slots: u32) -> u32 {
    // Truncation is intended: only the low bits select the slot.
    (xxhash_rust::xxh3::xxh3_64(key) as u32) & (slots.wrapping_sub(1))
}
