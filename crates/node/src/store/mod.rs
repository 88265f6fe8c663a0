//! The snapshot store of modforge-store: blob snapshots, maintenance and inspection
//! (docs/store.md).

mod blob;
mod inspect;
mod maintenance;
mod reason;
mod source;

use std::path::Path;

pub use reason::RejectReason;
pub use source::SnapshotSource;

/// A path as JavaScript sees it (lossy for non-UTF-8 names).
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
