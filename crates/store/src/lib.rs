//! Versioned, integrity-checked snapshot files with atomic writes, and column-wise datasets.
//!
//! A snapshot is a 192-byte header (magic, container version, kind, data version, source
//! fingerprint, payload length and XXH3-128 checksum, header checksum) followed by a payload.
//! Loading runs a fixed sequence of checks and answers with a [`Reason`] when the file cannot
//! be used (`missing`, `corrupt`, `stale`, `version`, `kind`); [`open_or_build_blob`] and
//! [`open_dataset`] then rebuild from the source and write the result atomically (temp file,
//! fsync, rename, directory fsync). Nothing is ever modified in place, so readers that map a file
//! see either the old or the new complete snapshot.
//!
//! Datasets store CSV tables (or given rows) column-wise with a hash index over a key column, in
//! the `modforge.dataset@1` payload; opening validates the structure in O(tables + columns) and
//! every cell access is bounds- and UTF-8-checked.

mod blob;
mod dataset;
mod error;
mod fingerprint;
mod header;
mod hooks;
mod inspect;
mod layer;
mod maintenance;
mod names;
mod reason;
mod snapshot;
mod write;

pub use blob::{
    Opened, Put, get_blob, open_or_build_blob, open_or_build_checked, put_blob,
    put_blob_fingerprinted,
};
pub use dataset::{
    CellCounts, DATASET_KIND, Dataset, DatasetOptions, DatasetPlan, DatasetReport, DuplicateKey,
    DuplicatePolicy, Keys, REPORT_LIST_LIMIT, RaggedPolicy, Table, TableInput, TableReport,
    open_dataset, open_dataset_with,
};
pub use error::Error;
pub use fingerprint::{FileMode, Fingerprint, FingerprintAlgorithm, Source, fingerprint};
pub use header::{CONTAINER_VERSION, HEADER_LEN, Header, MAGIC};
pub use hooks::Hooks;
pub use inspect::{Check, Inspection, TableSummary, inspect, verify, verify_dir};
pub use layer::{FileLayer, LayerFile, OsLayer};
pub use maintenance::{Removed, clean, invalidate};
pub use names::{encode_component, snapshot_file_name};
pub use reason::{Reason, ReasonCode};
pub use snapshot::{
    LoadOptions, Snapshot, SnapshotId, check_image, load, load_file, write, write_file,
};
