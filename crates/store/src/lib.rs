//! Versioned, integrity-checked snapshot files with atomic writes: the container every payload of
//! modforge is stored in (docs/store.md).
//!
//! A snapshot is a 192-byte header (magic, container version, kind, data version, source
//! fingerprint, payload length and XXH3-128 checksum, header checksum) followed by a payload.
//! Loading runs a fixed sequence of checks and answers with a [`Reason`] when the file cannot
//! be used (`missing`, `corrupt`, `stale`, `version`, `kind`); [`open_or_build_blob`] then
//! rebuilds from the source and writes the result atomically (temp file, fsync, rename,
//! directory fsync). Nothing is ever modified in place, so readers that map a file see either the
//! old or the new complete snapshot.
//!
//! The container knows no payload layout. Blobs are stored as given; other payloads (datasets,
//! icon caches, ROM caches, game indexes) live in their own crates and plug into [`inspect`] and
//! [`verify`] through [`PayloadKind`].

mod blob;
mod error;
mod file;
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
    BLOB_KIND, Opened, Put, get_blob, open_or_build_blob, open_or_build_checked, put_blob,
    put_blob_fingerprinted,
};
pub use error::Error;
pub use file::{MAP_THRESHOLD, read_source};
pub use fingerprint::{
    BLOB_DOMAIN, FileMode, Fingerprint, FingerprintAlgorithm, Source, fingerprint, fingerprint_in,
    fingerprint_with_options,
};
pub use header::{
    CONTAINER_VERSION, Expect, HEADER_LEN, Header, MAGIC, check, encode as encode_header,
    validate_kind, validate_version,
};
pub use hooks::Hooks;
pub use inspect::{Check, Examination, Inspection, PayloadKind, inspect, verify, verify_all};
pub use layer::{FileLayer, LayerFile, OsLayer};
pub use maintenance::{Removed, clean, invalidate};
pub use names::{
    EntryKind, classify, encode_component, snapshot_file_name, validate_dir, validate_name,
};
pub use reason::{Reason, ReasonCode};
pub use snapshot::{
    LoadOptions, Persisted, Snapshot, SnapshotId, check_image, load, load_file, load_path,
    load_path_with, load_with, open_file, persist_image, reason_error, write, write_snapshot_file,
};
pub use write::write_file;
